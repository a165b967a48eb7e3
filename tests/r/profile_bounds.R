# Exact profile-likelihood confidence bounds for tests/test_profile_hard.py.
#
# What it computes: for every design below and every coefficient c, the two
# roots of the signed root of the likelihood-ratio statistic,
#     zeta(t) = sign(t - b_c) * sqrt(2 * (l(b) - l_p(t))) = -/+ sqrt(qchisq(level, 1)),
# where l_p(t) is the maximum log-likelihood with b_c = t. Maximum likelihood:
# l_p(t) comes from glm.fit on the other columns with t * x_c moved into the
# offset (glm.control(epsilon = 1e-14, maxit = 100), refitted from its own
# estimate; the larger maximum of two starts: the linear approximation of the
# profile path and glm.fit's default start). Firth:
# l is the penalized log-likelihood l + 1/2 log det I(b) with the information of
# the full model (logistf's convention), maximized here by Fisher scoring with
# step halving on the modified score (max |U*| < 1e-10); no logistf needed.
# The roots are found by uniroot (tol 1e-12 relative to the root) on a bracket
# found by doubling steps of the Wald standard error. A bound whose zeta stays
# below the quantile out to 1e6 standard errors (the profile levels off, as for
# a separated coefficient) is reported as -Inf / +Inf.
#
# The random designs are generated here (set.seed) and written to
# tests/data/profile/*.csv, so Python reads exactly the same rows.
#
# Run from the repository root:  Rscript tests/r/profile_bounds.R
# Writes tests/data/profile/*.csv and tests/data/profile_bounds.json.

suppressMessages(library(jsonlite))
out_dir <- file.path("tests", "data", "profile")
dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)

ctrl <- glm.control(epsilon = 1e-14, maxit = 100)

# ------------------------------------------------------------------ designs
designs <- list()
add <- function(name, data, terms, y = "y", weights = NULL, offset = NULL,
                method = "mle", level = 0.95, file = NULL, write = TRUE) {
  file <- if (is.null(file)) paste0("profile/", name, ".csv") else file
  if (write) write.csv(data, file.path("tests", "data", file), row.names = FALSE)
  designs[[name]] <<- list(data = data, terms = terms, y = y, weights = weights,
                           offset = offset, method = method, level = level, file = file)
}

bw <- read.csv("tests/data/birthwt.csv")
bw_x <- data.frame(low = bw$low, age = bw$age, lwt = bw$lwt, race2 = as.numeric(bw$race == 2),
                   race3 = as.numeric(bw$race == 3), ftv = bw$ftv)
add("birthwt", bw_x, c("age", "lwt", "race2", "race3", "ftv"), y = "low")
sp <- read.csv("tests/data/spector.csv")
add("spector", sp, c("GPA", "TUCE", "PSI"), y = "GRADE", level = 0.90,
    file = "spector.csv", write = FALSE)

collinear <- function(seed, n, eps) {
  set.seed(seed)
  x1 <- rnorm(n); x2 <- rnorm(n); xc <- x1 + eps * rnorm(n)
  y <- rbinom(n, 1, plogis(0.3 + x1 - 0.7 * x2))
  data.frame(y = y, x1 = x1, x2 = x2, xc = xc)
}
add("collinear60", collinear(60, 60, 1e-4), c("x1", "x2", "xc"))
add("collinear33", collinear(33, 33, 1e-2), c("x1", "x2", "xc"))
add("collinear200", collinear(200, 200, 1e-4), c("x1", "x2", "xc"))
# seeds on which a plain doubling-bracket + Brent search failed: a scipy error
# (33 rows), zero-width intervals (60 rows, seed 2), the slowest (60 rows, seed 11)
add("collinear33_seed7", collinear(7, 33, 1e-2), c("x1", "x2", "xc"))
add("collinear60_seed2", collinear(2, 60, 1e-4), c("x1", "x2", "xc"))
add("collinear60_seed11", collinear(11, 60, 1e-4), c("x1", "x2", "xc"))
local({
  set.seed(80); n <- 80
  x1 <- rnorm(n); x2 <- rnorm(n); x4 <- runif(n)
  x3 <- x1 - x2 + 1e-3 * rnorm(n)
  y <- rbinom(n, 1, plogis(-0.5 + 0.8 * x1 + 0.5 * x2 - x4))
  add("collinear3", data.frame(y = y, x1 = x1, x2 = x2, x3 = x3, x4 = x4),
      c("x1", "x2", "x3", "x4"))
})
local({  # a 0/1 column with y = 1 wherever it is 1: its coefficient is +infinite
  set.seed(40); n <- 40
  x <- rnorm(n); s <- rep(c(0, 1), c(30, 10))
  y <- rbinom(n, 1, plogis(0.2 + x)); y[s == 1] <- 1
  add("quasisep", data.frame(y = y, x = x, s = s), c("x", "s"))
})
local({  # two dummies, one with only y = 1 (+inf), one with only y = 0 (-inf)
  set.seed(41); n <- 60
  x <- rnorm(n); g <- rep(c("a", "b", "c"), c(40, 10, 10))
  y <- rbinom(n, 1, plogis(-0.3 + 0.9 * x)); y[g == "b"] <- 1; y[g == "c"] <- 0
  add("quasisep2", data.frame(y = y, x = x, db = as.numeric(g == "b"),
                              dc = as.numeric(g == "c")), c("x", "db", "dc"))
})
local({  # x separates y completely
  set.seed(7); n <- 30
  x <- c(runif(15, -3, -0.2), runif(15, 0.2, 3)); z <- rnorm(n)
  y <- rep(c(0, 1), c(15, 15))
  add("complete", data.frame(y = y, x = x, z = z), c("x", "z"))
})
local({
  set.seed(50); n <- 50
  x1 <- rnorm(n); x2 <- rbinom(n, 1, 0.4); w <- runif(n, 0.5, 3); off <- 0.5 * rnorm(n)
  y <- rbinom(n, 1, plogis(-0.2 + 0.7 * x1 + 0.9 * x2 + off))
  add("weighted_offset", data.frame(y = y, x1 = x1, x2 = x2, w = w, off = off),
      c("x1", "x2"), weights = "w", offset = "off")
})
local({
  set.seed(70); n <- 70
  x1 <- rnorm(n); x2 <- rnorm(n); xc <- x1 + 1e-3 * rnorm(n)
  w <- sample(1:4, n, replace = TRUE); off <- 0.3 * rnorm(n)
  y <- rbinom(n, 1, plogis(0.4 + x1 - 0.5 * x2 + off))
  add("collinear_weighted_offset", data.frame(y = y, x1 = x1, x2 = x2, xc = xc, w = w, off = off),
      c("x1", "x2", "xc"), weights = "w", offset = "off")
})
local({
  set.seed(15); n <- 15
  x <- rnorm(n); y <- rbinom(n, 1, plogis(0.5 + 1.5 * x))
  add("small15", data.frame(y = y, x = x), c("x"))
})
# Firth's penalized likelihood
sex2 <- read.csv("tests/data/sex2.csv")
add("firth_sex2", sex2, c("age", "oc", "vic", "vicl", "vis", "dia"), y = "case",
    method = "firth", file = "sex2.csv", write = FALSE)
add("firth_collinear33", designs$collinear33$data, c("x1", "x2", "xc"), method = "firth",
    file = designs$collinear33$file, write = FALSE)
add("firth_complete", designs$complete$data, c("x", "z"), method = "firth",
    file = designs$complete$file, write = FALSE)
add("firth_quasisep2", designs$quasisep2$data, c("x", "db", "dc"), method = "firth",
    file = designs$quasisep2$file, write = FALSE)
add("firth_weighted_offset", designs$weighted_offset$data, c("x1", "x2"), method = "firth",
    weights = "w", offset = "off", file = designs$weighted_offset$file, write = FALSE)

# ------------------------------------------------------------------ fits
ml_fit <- function(X, y, w, off, start = NULL) {
  fit <- suppressWarnings(glm.fit(X, y, weights = w, offset = off, family = binomial(),
                                  control = ctrl, start = start))
  fit <- suppressWarnings(glm.fit(X, y, weights = w, offset = off, family = binomial(),
                                  control = ctrl, start = coef(fit)))
  eta <- drop(off + X %*% coef(fit))
  ll <- sum(w * (y * plogis(eta, log.p = TRUE) + (1 - y) * plogis(-eta, log.p = TRUE)))
  score <- drop(crossprod(X, w * (y - plogis(eta))))
  list(coef = coef(fit), ll = ll, score = score, converged = fit$converged)
}

firth_terms <- function(X, y, w, off, beta) {
  eta <- drop(off + X %*% beta); p <- plogis(eta); v <- w * p * (1 - p)
  info <- crossprod(X, X * v)
  qx <- qr(X * sqrt(v))   # hat values h = diag(W^1/2 X I^-1 X' W^1/2) from Q: no I^-1
  ll <- sum(w * (y * plogis(eta, log.p = TRUE) + (1 - y) * plogis(-eta, log.p = TRUE)))
  h <- rowSums(qr.Q(qx)^2)
  list(pl = ll + sum(log(abs(diag(qr.R(qx))))),
       U = drop(crossprod(X, w * (y - p) + h * (0.5 - p))), info = info)
}

firth_fit <- function(X, y, w, off, beta, free) {
  cur <- firth_terms(X, y, w, off, beta)
  for (it in 1:1000) {
    if (max(abs(cur$U[free])) < 1e-10) break
    step <- solve(cur$info[free, free, drop = FALSE], cur$U[free])
    s <- 1
    repeat {
      nb <- beta; nb[free] <- beta[free] + s * step
      new <- tryCatch(firth_terms(X, y, w, off, nb), error = function(e) NULL)
      if (!is.null(new) && is.finite(new$pl) && new$pl >= cur$pl - 1e-12 * abs(cur$pl)) break
      s <- s / 2
      if (s < 1e-12) stop("Firth step halving failed")
    }
    beta <- nb; cur <- new
  }
  if (max(abs(cur$U[free])) >= 1e-10) stop("Firth fit did not converge")
  list(coef = beta, ll = cur$pl, score = cur$U[free], info = cur$info)
}

design_matrix <- function(d) {
  df <- d$data
  X <- cbind("(Intercept)" = 1, as.matrix(df[, d$terms, drop = FALSE]))
  y <- df[[d$y]]
  w <- if (is.null(d$weights)) rep(1, nrow(df)) else df[[d$weights]]
  off <- if (is.null(d$offset)) rep(0, nrow(df)) else df[[d$offset]]
  list(X = X, y = y, w = w, off = off)
}

profile_design <- function(d) {
  m <- design_matrix(d)
  X <- m$X; k <- ncol(X)
  if (d$method == "mle") {
    full <- ml_fit(X, m$y, m$w, m$off)
    eta <- drop(m$off + X %*% full$coef); p <- plogis(eta)
    V <- solve(crossprod(X, X * (m$w * p * (1 - p))))
  } else {
    full <- firth_fit(X, m$y, m$w, m$off, rep(0, k), seq_len(k))
    V <- solve(full$info)
  }
  b <- full$coef; crit <- sqrt(qchisq(d$level, 1))
  lp <- function(j, t) {
    start <- b + V[, j] / V[j, j] * (t - b[j])
    if (d$method == "mle") {
      # the larger of two maxima: from the path's linear approximation and from
      # glm.fit's own start (which reaches the supremum of a separable constrained fit)
      fits <- list(ml_fit(X[, -j, drop = FALSE], m$y, m$w, m$off + t * X[, j], start[-j]),
                   ml_fit(X[, -j, drop = FALSE], m$y, m$w, m$off + t * X[, j]))
      fit <- fits[[which.max(sapply(fits, function(f) f$ll))]]
      if (max(abs(fit$score)) > 1e-8) stop("constrained fit did not converge: ", d$file, " ", j, " ", t, " ", max(abs(fit$score)))
      list(ll = fit$ll, score = max(abs(fit$score)))
    } else {
      start[j] <- t
      fit <- firth_fit(X, m$y, m$w, m$off, start, setdiff(seq_len(k), j))
      list(ll = fit$ll, score = max(abs(fit$score)))
    }
  }
  bounds <- list(); scores <- list(); far <- list()
  for (j in seq_len(k)) {
    se <- sqrt(V[j, j])
    res <- c(NA, NA); sc <- c(NA, NA); fz <- c(NA, NA)
    for (side in c(-1, 1)) {
      g <- function(t) sqrt(max(2 * (full$ll - lp(j, t)$ll), 0)) - crit
      # first step: one standard error, at most 1 + |b_c| (a separated coefficient
      # has an enormous standard error)
      prev <- b[j]; found <- NA; step <- min(se, 1 + abs(b[j])); worst <- -crit
      while (step <= 1e6 * max(1, se)) {
        t <- b[j] + side * step
        gt <- g(t); worst <- max(worst, gt)
        if (gt >= 0) { found <- t; break }
        prev <- t; step <- step * 2
      }
      i <- if (side < 0) 1 else 2
      if (is.na(found)) {
        res[i] <- side * Inf; fz[i] <- worst + crit
        next
      }
      lo <- min(prev, found); hi <- max(prev, found)
      r <- uniroot(g, c(lo, hi), tol = 1e-12 * max(1, abs(lo), abs(hi)), maxiter = 1000)$root
      # again on a narrow bracket, so that the tolerance is relative to the root
      # itself (a bracket may reach far out when the standard error is huge)
      delta <- 1e-6 * max(1, abs(r))
      if (g(r - delta) * g(r + delta) < 0)
        r <- uniroot(g, c(r - delta, r + delta), tol = 1e-12 * max(1, abs(r)), maxiter = 1000)$root
      res[i] <- r; sc[i] <- lp(j, r)$score
    }
    bounds[[colnames(X)[j]]] <- res; scores[[colnames(X)[j]]] <- sc; far[[colnames(X)[j]]] <- fz
  }
  list(coef = setNames(b, colnames(X)), loglik = full$ll, bounds = bounds,
       score_at_bound = scores, zeta_max_when_infinite = far)
}

num <- function(x) {
  if (is.na(x)) return(NULL)
  if (is.infinite(x)) return(if (x > 0) "Inf" else "-Inf")
  x
}

results <- list()
for (name in names(designs)) {
  d <- designs[[name]]
  cat("profiling", name, "\n")
  p <- profile_design(d)
  results[[name]] <- list(
    file = d$file, y = d$y, terms = I(d$terms), weights = d$weights, offset = d$offset,
    method = d$method, level = d$level, loglik = p$loglik,
    coef = lapply(as.list(p$coef), num),
    bounds = lapply(p$bounds, function(v) lapply(v, num)),
    score_at_bound = lapply(p$score_at_bound, function(v) lapply(v, num)),
    zeta_max_when_infinite = lapply(p$zeta_max_when_infinite, function(v) lapply(v, num)))
}
meta <- list(script = "tests/r/profile_bounds.R", r_version = R.version.string,
             jsonlite = as.character(packageVersion("jsonlite")),
             glm_control = "epsilon 1e-14, maxit 100", uniroot_tol = "1e-12 relative",
             infinite = "zeta below the quantile out to 1e6 standard errors")
writeLines(toJSON(list(meta = meta, designs = results), auto_unbox = TRUE, digits = NA,
                  null = "null", pretty = TRUE),
           file.path("tests", "data", "profile_bounds.json"))
cat("wrote tests/data/profile_bounds.json\n")
