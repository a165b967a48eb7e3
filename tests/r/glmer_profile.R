# Profile-likelihood and Wald intervals of glmer fits (tests/test_mixed.py).
# Run from the repository root after tests/r/glmer.R: Rscript tests/r/glmer_profile.R
# Writes tests/data/glmer_profile.json: per fit, confint(method = "profile") and
# confint(method = "Wald") at level 0.95 (lme4 names: .sig01, ... then the fixed
# effects), and, to check lme4's spline interpolation of the profile, the Laplace
# deviance minimized with the parameter held at each profile endpoint (by a
# restricted refit of the Laplace deviance on lme4's profiling scale: the variance
# components as SDs and correlations, then the fixed effects), so the endpoint's residual
# sqrt(dev(endpoint) - dev(optimum)) - qnorm(0.975) is reported beside it.
suppressPackageStartupMessages({library(lme4); library(jsonlite); library(MASS)})
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                     tolPwrss = 1e-12, calc.derivs = TRUE)
cbpp <- read.csv("tests/data/glmm_cbpp.csv"); cbpp$period <- factor(cbpp$period)
cbpp$herd <- factor(cbpp$herd)
gt <- read.csv("tests/data/glmm_grouseticks.csv")
gt$YEAR <- factor(gt$YEAR); gt$BROOD <- factor(gt$BROOD); gt$LOCATION <- factor(gt$LOCATION)
gt$y <- as.integer(gt$TICKS > 0)
sl <- read.csv("tests/data/glmm_slopes.csv")
specs <- list(
  cbpp = list(formula = cbind(incidence, size - incidence) ~ period + (1 | herd), data = cbpp),
  grouse = list(formula = y ~ YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD), data = gt),
  slopes = list(formula = y ~ x + (1 + x | g) + (1 | h) + offset(off), data = sl),
  # a singular fit: the correlation at +1 (tests/r/glmer_boundary.R)
  bacteria = list(formula = y ~ trt + week + (week | ID), data = MASS::bacteria))
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
  # restricted refits at each endpoint: the Laplace deviance of devFunOnly (PIRLS from a
  # cold start at every call) on lme4's profiling scale (SDs and correlations, mapped to
  # theta by Sv_to_Cv, then the fixed effects), minimized with one parameter fixed.
  # (The profile's own devfun2 restarts PIRLS from its last state; far from the optimum
  # it can stay above the converged deviance, which would hide its ends' error.)
  dfun2 <- lme4:::devfun2(f, useSc = FALSE, signames = FALSE)   # names sd_…, cor_…
  dfun0 <- glmer(s$formula, data = s$data, family = binomial, control = ctrl,
                 devFunOnly = TRUE, nAGQ = 1)
  nt <- length(getME(f, "theta")); par0 <- attr(dfun2, "optimum")
  vlist <- lengths(f@cnms)
  dfun <- function(p) dfun0(c(lme4:::Sv_to_Cv(p[seq_len(nt)], n = vlist), p[-seq_len(nt)]))
  is_cor <- grepl("^cor_", names(par0))
  is_sd <- grepl("^sd_", names(par0))
  lower <- ifelse(is_sd, 0, ifelse(is_cor, -1, -Inf))
  upper <- ifelse(is_cor, 1, Inf)
  restricted <- function(i, v) {
    fr <- function(z) { p <- par0; p[i] <- v; p[-i] <- z; dfun(p) }
    # start inside the bounds: from a correlation at +1 (a singular fit) nloptwrap stalls
    st <- pmin(pmax(par0[-i], lower[-i] + 1e-4), upper[-i] - 1e-4)
    r <- nloptwrap(st, fr, lower = lower[-i], upper = upper[-i],
                   control = list(ftol_abs = 1e-12, xtol_abs = 1e-10, maxeval = 1e5))
    r$fval
  }
  zeta <- matrix(NA, nrow(ci), 2)
  for (r in seq_len(nrow(ci))) for (k in 1:2) {
    v <- ci[r, k]
    if (is.na(v)) next
    if (r <= nt && (v == lower[r] || v == upper[r])) next
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
