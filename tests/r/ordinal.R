# Reference values for tests/test_ordinal.py (ordinal logistic regression):
# writes tests/data/ordinal_r.json, tests/data/housing.csv and tests/data/wine.csv.
# Run from the repository root: Rscript tests/r/ordinal.R
# Packages: MASS (polr, housing), ordinal (clm, nominal_test, wine), jsonlite.
# clm is fitted tightly (gradTol 1e-12); polr (which stops at optim's reltol)
# is refitted from clm's estimate and checked to agree, so both are reported
# from the same optimum. Sign convention (both): logit P(y <= k) = zeta_k - x'beta.
suppressPackageStartupMessages({library(MASS); library(ordinal); library(jsonlite)})
ctl <- clm.control(gradTol = 1e-12, maxIter = 200, maxLineIter = 200)

hs <- MASS::housing
write.csv(hs, "tests/data/housing.csv", row.names = FALSE)
wn <- ordinal::wine
write.csv(wn[, c("response", "rating", "temp", "contact", "bottle", "judge")],
          "tests/data/wine.csv", row.names = FALSE)

fit_record <- function(fit, newdata = NULL) {
  s <- summary(fit)
  V <- vcov(fit)
  out <- list(
    coef = as.list(coef(fit)), se = as.list(sqrt(diag(V))),
    vcov = unname(V), vcov_names = rownames(V),
    loglik = as.numeric(logLik(fit)), aic = AIC(fit), bic = BIC(fit),
    nobs = nobs(fit), max_grad = max(abs(fit$gradient)),
    condHess = fit$cond.H)
  ci <- tryCatch(confint(fit, level = 0.95, type = "profile"), error = function(e) NULL)
  if (!is.null(ci)) out$profile_ci <- list(term = rownames(ci), low = unname(ci[, 1]),
                                           high = unname(ci[, 2]))
  if (!is.null(newdata)) {
    P <- predict(fit, newdata = newdata, type = "prob")$fit
    out$prob <- unname(P)
  }
  out
}

res <- list()

# housing: Venables & Ripley, MASS section 7.3 (polr with frequency weights)
h1 <- clm(Sat ~ Infl + Type + Cont, weights = Freq, data = hs, control = ctl)
p1 <- polr(Sat ~ Infl + Type + Cont, weights = Freq, data = hs, Hess = TRUE,
           start = c(coef(h1)[-(1:2)], coef(h1)[1:2]),
           control = list(reltol = 1e-15, maxit = 1000))
stopifnot(max(abs(c(p1$zeta, coef(p1)) - coef(h1))) < 1e-6)
newh <- hs[seq(1, nrow(hs), by = 3), c("Infl", "Type", "Cont")]
res$housing <- fit_record(h1, newh)
res$housing$polr_coef <- as.list(c(p1$zeta, coef(p1)))
res$housing$polr_loglik <- as.numeric(logLik(p1))
res$housing$newdata_rows <- seq(1, nrow(hs), by = 3) - 1     # 0-based rows of housing.csv

# wine: Randall (1989), the ordinal package's example; unweighted
w1 <- clm(rating ~ temp + contact, data = wn, control = ctl)
res$wine <- fit_record(w1, wn[, c("temp", "contact")])
# LR tests of proportional odds per term (the partial model with the term nominal)
nt <- nominal_test(w1)
res$wine$nominal_test <- list(term = rownames(nt)[-1], df = unname(nt$Df[-1]),
                              lrt = unname(nt$LRT[-1]), p = unname(nt[["Pr(>Chi)"]][-1]))
# partial proportional odds: contact's effect varies by threshold
w2 <- clm(rating ~ temp, nominal = ~ contact, data = wn, control = ctl)
res$wine_nominal_contact <- fit_record(w2)

# weights and an offset: wine with row weights 1 + (row %% 3) and offset 0.1 * judge
wn$w <- 1 + (seq_len(nrow(wn)) %% 3)          # python: 1 + (np.arange(1, n + 1) % 3)
wn$o <- 0.1 * as.numeric(wn$judge)            # python: 0.1 * judge
w3 <- clm(rating ~ temp + contact + offset(o), weights = w, data = wn, control = ctl)
res$wine_weighted_offset <- fit_record(w3)

# a numeric covariate and a 5-level ordered response: wine's rating ~ temp * contact
w4 <- clm(rating ~ temp * contact, data = wn, control = ctl)
res$wine_interaction <- fit_record(w4)

# tests per term: drop1 (LR) of the additive and the interaction model; LR of nested fits
d1 <- drop1(w1, test = "Chi")
res$wine$drop1 <- list(term = rownames(d1)[-1], lrt = unname(d1$LRT[-1]),
                       aic = unname(d1$AIC[-1]))
d4 <- drop1(w4, test = "Chi")
res$wine_interaction$drop1 <- list(term = rownames(d4)[-1], lrt = unname(d4$LRT[-1]),
                                   aic = unname(d4$AIC[-1]))
w0 <- clm(rating ~ temp, data = wn, control = ctl)
a01 <- anova(w0, w1)
res$wine$lr_vs_temp_only <- list(lrt = a01$LR.stat[2], df = a01$df[2], p = a01[["Pr(>Chisq)"]][2])

# tests of proportional odds. nominal_test's own refits (default tolerances) and the same
# LR statistics from tight refits with each term nominal:
nominal_tight <- function(base, data, terms, weights = NULL) {
  out <- list()
  for (t in terms) {
    others <- setdiff(terms, t)
    loc <- if (length(others)) paste(others, collapse = " + ") else "1"
    f <- as.formula(paste(deparse(formula(base)[[2]]), "~", loc))
    data$.w <- if (is.null(weights)) 1 else weights
    fit <- clm(f, nominal = as.formula(paste("~", t)), weights = .w, data = data, control = ctl)
    out[[t]] <- list(lrt = 2 * (as.numeric(logLik(fit)) - as.numeric(logLik(base))),
                     df = length(coef(fit)) - length(coef(base)),
                     loglik = as.numeric(logLik(fit)), max_grad = max(abs(fit$gradient)))
  }
  out
}
w1d <- clm(rating ~ temp + contact, data = wn)          # nominal_test on a default fit
nt <- nominal_test(w1d)
res$wine$nominal_test <- list(term = rownames(nt)[-1], df = unname(nt$Df[-1]),
                              lrt = unname(nt$LRT[-1]), p = unname(nt[["Pr(>Chi)"]][-1]))
res$wine$nominal_tight <- nominal_tight(w1, wn, c("temp", "contact"))
res$housing$nominal_tight <- nominal_tight(h1, hs, c("Infl", "Type", "Cont"), weights = hs$Freq)

# Brant (1990), computed here from its definition with R's glm: the K - 1 binary logits
# of y > k, their joint covariance V_kl = I_k^-1 X'diag(w pi_l (1 - pi_k)) X I_l^-1
# (k <= l), and the Wald test that the slopes are equal across the fits.
brant_by_hand <- function(formula, data, w = rep(1, nrow(data))) {
  mf <- model.frame(formula, data)
  y <- as.integer(model.response(mf))
  mm <- model.matrix(formula, data)
  assign_ <- attr(mm, "assign")[-1]
  X <- mm[, -1, drop = FALSE]
  J <- max(y) - 1; d <- ncol(X); Xt <- cbind(1, X)
  fits <- lapply(seq_len(J), function(k) {
    yk <- as.numeric(y > k)
    f <- glm(yk ~ X, family = binomial, weights = w, control = glm.control(epsilon = 1e-14,
                                                                            maxit = 100))
    update(f, start = coef(f))
  })
  pis <- sapply(fits, fitted)
  inv <- lapply(seq_len(J), function(k) solve(crossprod(Xt, (w * pis[, k] * (1 - pis[, k])) * Xt)))
  V <- matrix(0, J * d, J * d)
  for (k in seq_len(J)) for (l in k:J) {
    B <- (inv[[k]] %*% crossprod(Xt, (w * pis[, l] * (1 - pis[, k])) * Xt) %*% inv[[l]])[-1, -1]
    V[(k - 1) * d + 1:d, (l - 1) * d + 1:d] <- B
    V[(l - 1) * d + 1:d, (k - 1) * d + 1:d] <- t(B)
  }
  beta <- unlist(lapply(fits, function(f) coef(f)[-1]))
  wald <- function(cols) {
    D <- matrix(0, (J - 1) * length(cols), J * d)
    for (r in seq_len(J - 1)) for (c in seq_along(cols)) {
      D[(r - 1) * length(cols) + c, cols[c]] <- 1
      D[(r - 1) * length(cols) + c, r * d + cols[c]] <- -1
    }
    dv <- D %*% beta
    stat <- as.numeric(t(dv) %*% solve(D %*% V %*% t(D), dv))
    list(statistic = stat, df = nrow(D), p = pchisq(stat, nrow(D), lower.tail = FALSE))
  }
  labels <- attr(terms(formula), "term.labels")
  out <- list(omnibus = wald(seq_len(d)))
  for (i in seq_along(labels)) out[[labels[i]]] <- wald(which(assign_ == i))
  out
}
# (wine's top split, rating 5 against the rest, is separated: no Brant test there)
res$housing$brant <- brant_by_hand(Sat ~ Infl + Type + Cont, hs, hs$Freq)

# simulated: 4 levels, x2's effect grows with the cut (not proportional odds)
set.seed(20261203)
n <- 600
sim <- data.frame(x1 = rnorm(n), x2 = rnorm(n), g = factor(sample(c("a", "b", "c"), n, TRUE)))
u <- rlogis(n)
cuts <- c(-1, 0.3, 1.5)
lat <- 0.8 * sim$x1 + 0.5 * (sim$g == "b") - 0.4 * (sim$g == "c")
y <- sapply(seq_len(n), function(i) sum(lat[i] + u[i] * (1 + 0.3 * sim$x2[i]) > cuts) + 1)
sim$y <- factor(y, levels = 1:4, ordered = TRUE)
write.csv(sim, "tests/data/ordinal_sim.csv", row.names = FALSE)
s1 <- clm(y ~ x1 + x2 + g, data = sim, control = ctl)
res$sim <- fit_record(s1)
res$sim$nominal_tight <- nominal_tight(s1, sim, c("x1", "x2", "g"))
res$sim$brant <- brant_by_hand(y ~ x1 + x2 + g, sim)

res$provenance <- paste("R", R.version$major, R.version$minor, "; MASS",
                        as.character(packageVersion("MASS")), "; ordinal",
                        as.character(packageVersion("ordinal")))
writeLines(toJSON(res, digits = 17, auto_unbox = TRUE, pretty = TRUE), "tests/data/ordinal_r.json")
