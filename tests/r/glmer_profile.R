# Profile-likelihood and Wald intervals of glmer fits (tests/test_mixed.py).
# Run from the repository root after tests/r/glmer.R: Rscript tests/r/glmer_profile.R
# Writes tests/data/glmer_profile.json: per fit, confint(method = "profile") and
# confint(method = "Wald") at level 0.95 (lme4 names: .sig01, ... then the fixed
# effects), and, to check lme4's spline interpolation of the profile, the Laplace
# deviance minimized with the parameter held at each profile endpoint (by a
# restricted refit from devFunOnly), so the endpoint's residual
# sqrt(dev(endpoint) - dev(optimum)) - qnorm(0.975) is reported beside it.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                     tolPwrss = 1e-12, calc.derivs = TRUE)
cbpp <- read.csv("tests/data/glmm_cbpp.csv"); cbpp$period <- factor(cbpp$period)
cbpp$herd <- factor(cbpp$herd)
gt <- read.csv("tests/data/glmm_grouseticks.csv")
gt$YEAR <- factor(gt$YEAR); gt$BROOD <- factor(gt$BROOD); gt$LOCATION <- factor(gt$LOCATION)
gt$y <- as.integer(gt$TICKS > 0)
specs <- list(
  cbpp = list(formula = cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp),
  grouse = list(formula = y ~ YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD), data = gt))
out <- list()
for (name in names(specs)) {
  s <- specs[[name]]
  f0 <- glmer(s$formula, data = s$data, family = binomial, control = ctrl)
  f <- glmer(s$formula, data = s$data, family = binomial, control = ctrl,
             start = list(theta = getME(f0, "theta"), fixef = fixef(f0)))
  pr <- profile(f, delta = 0.02, maxpts = 400, alphamax = 0.001)
  ci <- confint(pr, level = 0.95)
  wald <- confint(f, method = "Wald", level = 0.95)
  dev0 <- deviance(f) ; obj0 <- -2 * as.numeric(logLik(f))
  # restricted refits at each endpoint: dev(theta, beta) minimized with one parameter fixed
  dfun <- glmer(s$formula, data = s$data, family = binomial, control = ctrl, devFunOnly = TRUE,
                nAGQ = 1)
  nt <- length(getME(f, "theta")); par0 <- c(getME(f, "theta"), fixef(f))
  lower <- c(getME(f, "lower"), rep(-Inf, length(fixef(f))))
  restricted <- function(i, v) {
    fr <- function(z) { p <- par0; p[i] <- v; p[-i] <- z; dfun(p) }
    st <- par0[-i]
    r <- nloptwrap(st, fr, lower = lower[-i], upper = rep(Inf, length(st)),
                   control = list(ftol_abs = 1e-12, xtol_abs = 1e-10, maxeval = 1e5))
    r$fval
  }
  zeta <- matrix(NA, nrow(ci), 2)
  for (r in seq_len(nrow(ci))) for (k in 1:2) {
    v <- ci[r, k]
    if (is.na(v)) next
    if (r <= nt && v == 0) next
    zeta[r, k] <- sqrt(max(restricted(r, v) - obj0, 0)) - qnorm(0.975)
  }
  out[[name]] <- list(names = rownames(ci), profile_lower = unname(ci[, 1]),
                      profile_upper = unname(ci[, 2]), wald_lower = unname(wald[, 1]),
                      wald_upper = unname(wald[, 2]), endpoint_residual_zeta = zeta,
                      objective = obj0, n_theta = nt)
}
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/data/glmer_profile.json")
