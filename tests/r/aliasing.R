# Aliasing like R: which columns R's glm drops as aliased (NA coefficients) on
# exactly and nearly collinear designs, and the tight fit of the columns it keeps.
#
# Run from the repository root:   Rscript tests/r/aliasing.R
# Writes tests/data/aliasing_designs.csv (the rows of every design, 17 significant
# digits, read back before fitting so R and the Python tests use the same numbers)
# and tests/data/aliasing_r.json (per design: R's aliased set, coefficients,
# deviance). Read by tests/test_aliasing.py.
#
# The aliased set is glm's at its default control (epsilon = 1e-8), whose QR
# tolerance is min(1e-7, epsilon / 1000) = 1e-11: with glm.control(epsilon =
# 1e-14) that tolerance would be 1e-17, another rule. R decides at every IRLS
# iteration and reports the last; the set from the QR at the first iteration
# (weights from mustart = (w y + 0.5) / (w + 1)) is recorded too, and must agree.
# Coefficients and deviance come from a tight refit of the kept columns
# (glm.control(epsilon = 1e-14, maxit = 100)).
# Needs the jsonlite package.

library(jsonlite)

designs <- list()
add <- function(id, family, eps, seed, cols, y, w = NULL) {
  n <- length(y)
  if (is.null(w)) w <- rep(1, n)
  designs[[length(designs) + 1]] <<- list(id = id, family = family, eps = eps, seed = seed,
                                          cols = cols, y = y, w = w)
}
draw_y <- function(eta) as.numeric(runif(length(eta)) < plogis(eta))
epss <- c(1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 0)

# near: xc = x1 + eps z next to x1 and x2
for (n in c(40, 300)) for (seed in 1:3) for (eps in epss) {
  set.seed(1000 * seed + n)
  x1 <- rnorm(n); x2 <- rnorm(n); z <- rnorm(n)
  y <- draw_y(0.3 + 0.8 * x1 - 0.5 * x2)
  add(sprintf("near_n%d_s%d_e%g", n, seed, eps), "near", eps, seed,
      list(x1 = x1, x2 = x2, xc = x1 + eps * z), y)
}
# weights: integer (seed 1) and fractional with some zero weights (seed 2)
for (seed in 1:2) for (eps in c(1e-4, 1e-7, 1e-9, 1e-10, 1e-12, 0)) {
  set.seed(2000 + seed); n <- 200
  x1 <- rnorm(n); x2 <- rnorm(n); z <- rnorm(n)
  y <- draw_y(-0.2 + 0.7 * x1 + 0.4 * x2)
  w <- if (seed == 1) sample(1:5, n, replace = TRUE) else
    ifelse(runif(n) < 0.1, 0, runif(n, 0.2, 6))
  add(sprintf("weights_s%d_e%g", seed, eps), "weights", eps, seed,
      list(x1 = x1, x2 = x2, xc = x1 + eps * z), y, w)
}
# intercept: a column nearly constant
for (eps in c(1e-3, 1e-6, 1e-9, 1e-10, 1e-12, 0)) {
  set.seed(3001); n <- 200
  x1 <- rnorm(n); z <- rnorm(n)
  y <- draw_y(0.5 * x1)
  add(sprintf("intercept_e%g", eps), "intercept", eps, 1, list(x1 = x1, k = 3 + eps * z), y)
}
# factor: treatment dummies of a 3-level factor, one duplicated (nearly)
for (eps in c(0, 1e-12, 1e-9, 1e-6)) {
  set.seed(4001); n <- 200
  f <- sample(c("a", "b", "c"), n, replace = TRUE); x1 <- rnorm(n); z <- rnorm(n)
  fb <- as.numeric(f == "b"); fc <- as.numeric(f == "c")
  y <- draw_y(-0.3 + 0.6 * fb - 0.4 * fc + 0.5 * x1)
  add(sprintf("factor_dup_e%g", eps), "factor", eps, 1,
      list(fb = fb, fc = fc, x1 = x1, fc_again = fc + eps * z), y)
}
# factor: every level's dummy next to the intercept (the last one is aliased)
for (seed in 1:2) {
  set.seed(4100 + seed); n <- 150
  f <- sample(c("a", "b", "c"), n, replace = TRUE); x1 <- rnorm(n)
  y <- draw_y(0.4 * (f == "b") - 0.3 * (f == "c") + 0.5 * x1)
  add(sprintf("factor_all_s%d", seed), "factor", 0, seed,
      list(fa = as.numeric(f == "a"), fb = as.numeric(f == "b"), fc = as.numeric(f == "c"),
           x1 = x1), y)
}
# scales: columns of 1e6 and 1e-6, and a nearly exact combination of them
for (eps in c(0, 1e-12, 1e-10, 1e-8, 1e-5)) {
  set.seed(5001); n <- 200
  u <- rnorm(n); v <- rnorm(n); z <- rnorm(n)
  y <- draw_y(0.2 + 0.6 * u - 0.5 * v)
  big <- 1e6 * u; small <- 1e-6 * v
  add(sprintf("scales_e%g", eps), "scales", eps, 1,
      list(big = big, small = small, combo = 1e-12 * big + small + eps * 1e-6 * z), y)
}
# combination: xc = 2 x1 - 0.5 x2 + eps z, listed before and after its parts
for (eps in c(0, 1e-12, 1e-9, 1e-7)) for (first in c(FALSE, TRUE)) {
  set.seed(6001); n <- 120
  x1 <- rnorm(n); x2 <- rnorm(n); z <- rnorm(n)
  y <- draw_y(0.1 + 0.5 * x1 - 0.5 * x2)
  xc <- 2 * x1 - 0.5 * x2 + eps * z
  cols <- if (first) list(xc = xc, x1 = x1, x2 = x2) else list(x1 = x1, x2 = x2, xc = xc)
  add(sprintf("combination_%s_e%g", if (first) "first" else "last", eps), "combination",
      eps, 1, cols, y)
}

# ---------------------------------------------------------------- the rows
fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))
width <- max(sapply(designs, function(d) length(d$cols)))
rows <- do.call(rbind, lapply(designs, function(d) {
  m <- matrix(NA_real_, length(d$y), width)
  for (j in seq_along(d$cols)) m[, j] <- d$cols[[j]]
  out <- data.frame(design = d$id, y = fmt(d$y), w = fmt(d$w), stringsAsFactors = FALSE)
  for (j in seq_len(width)) out[[paste0("c", j)]] <- fmt(m[, j])
  out
}))
write.csv(rows, "tests/data/aliasing_designs.csv", quote = FALSE, row.names = FALSE)
stored <- read.csv("tests/data/aliasing_designs.csv", stringsAsFactors = FALSE)

# ---------------------------------------------------------------- the fits
first_iteration_aliased <- function(X, w) {
  good <- w > 0
  mu_w <- w[good] * (w[good] + 0.5) / (2 * (w[good] + 1)^2)   # w mu (1 - mu) at mustart
  q <- qr(X[good, , drop = FALSE] * sqrt(mu_w), tol = 1e-11)
  if (q$rank < ncol(X)) sort(colnames(X)[q$pivot[(q$rank + 1):ncol(X)]]) else character(0)
}
num <- function(x) sprintf("%.17g", x)
results <- lapply(designs, function(d) {
  part <- stored[stored$design == d$id, ]
  df <- data.frame(y = part$y)
  for (j in seq_along(d$cols)) df[[names(d$cols)[j]]] <- part[[paste0("c", j)]]
  w <- part$w
  fit <- suppressWarnings(glm(y ~ ., family = binomial, data = df, weights = w))
  aliased <- sort(names(coef(fit))[is.na(coef(fit))])
  X <- model.matrix(y ~ ., data = df)
  kept <- setdiff(names(d$cols), aliased)
  form <- if (length(kept)) reformulate(kept, "y") else y ~ 1
  tight <- withCallingHandlers(
    glm(form, family = binomial, data = df, weights = w,
        control = glm.control(epsilon = 1e-14, maxit = 100)),
    warning = function(w) invokeRestart("muffleWarning"))
  list(id = d$id, family = d$family, eps = d$eps, seed = d$seed, n = nrow(df),
       columns = I(names(d$cols)), aliased = I(aliased),
       aliased_first_iteration = I(first_iteration_aliased(X, w)),
       coefficients = as.list(setNames(num(coef(tight)), names(coef(tight)))),
       deviance = num(deviance(tight)), converged = tight$converged,
       iterations = tight$iter)
})
agree <- sapply(results, function(r) identical(r$aliased, r$aliased_first_iteration))
cat(sprintf("%d designs; R's first and last IRLS iterations agree on %d\n",
            length(results), sum(agree)))
doc <- list(script = "tests/r/aliasing.R", r_version = R.version.string,
            jsonlite = as.character(packageVersion("jsonlite")),
            rule = "glm default control: dqrdc2 tolerance 1e-11 on sqrt(w) X",
            designs = results)
writeLines(toJSON(doc, auto_unbox = TRUE, pretty = TRUE), "tests/data/aliasing_r.json")
