# Reference values for mixed-effects logistic regression (tests/test_glmm_core.py).
# Run from the repository root: Rscript tests/r/glmer.R
# Writes the data (tests/data/glmm_{cbpp,grouseticks,verbagg,slopes}.csv) and
# tests/data/glmer_r.json: per fit logLik, deviance, AIC, BIC, fixed effects, SEs,
# theta (names, lower bounds), VarCorr SDs / correlations, ranef and condVar of a
# few levels, fitted probabilities of a few rows, the Laplace / AGQ deviance
# function at the optimum and at perturbed parameters (devFunOnly), the stage-1
# (nAGQ = 0) optimum, Z's dimensions and column names (and its triplets when small),
# the gradient at R's optimum, marginal (population-average) probabilities by
# numerical integration, and glmer's time (elapsed and CPU, default and tight settings).
# tolPwrss = 1e-14: at glmer's default (1e-7) and even 1e-10 its PIRLS stops early
# enough that the Laplace deviance of VerbAgg is off by 7.5e-4 (1e-7 relative), and at
# 1e-12 that of grouseticks near its optimum by 4.6e-6 (1.3e-8 relative). VerbAgg at
# 1e-12 (at 1e-14 PIRLS's step halving fails at rounding level; 1e-12 agrees with 1e-14
# there to 1e-12).
# Then tests/r/glmer_polish.R polishes the optima.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})

set.seed(20261203)
cbpp <- lme4::cbpp
write.csv(cbpp, "tests/data/glmm_cbpp.csv", row.names = FALSE)
gt <- lme4::grouseticks[, c("INDEX", "TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION")]
write.csv(gt, "tests/data/glmm_grouseticks.csv", row.names = FALSE)
va <- lme4::VerbAgg[, c("Anger", "Gender", "item", "id", "btype", "situ", "mode", "r2")]
va$y <- as.integer(va$r2 == "Y")
write.csv(va, "tests/data/glmm_verbagg.csv", row.names = FALSE)
# simulated binary data: 50 groups g (random intercept and slope on x, correlated),
# 8 groups h crossed with g (random intercept), an offset
ng <- 50; nper <- 20; n <- ng * nper
g <- factor(sprintf("g%02d", rep(seq_len(ng), each = nper)))
h <- factor(sprintf("h%d", sample(1:8, n, replace = TRUE)))
x <- rnorm(n); off <- runif(n, -0.5, 0.5)
L <- matrix(c(0.9, 0, 0.25, 0.5), 2, 2, byrow = TRUE)
b <- matrix(rnorm(2 * ng), ng, 2) %*% t(L)
bh <- rnorm(8, sd = 0.4)
eta <- -0.3 + 0.7 * x + b[as.integer(g), 1] + b[as.integer(g), 2] * x + bh[as.integer(h)] + off
sl <- data.frame(g = g, h = h, x = x, off = off, y = rbinom(n, 1, plogis(eta)))
write.csv(sl, "tests/data/glmm_slopes.csv", row.names = FALSE)

tight_control <- function(tol) glmerControl(optimizer = "bobyqa",
                                            optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                                            tolPwrss = tol, calc.derivs = TRUE)
fitter <- function(spec) {
  # glmer on spec's formula and data; offset = the column `off` when spec$offset
  tol <- if (is.null(spec$tolPwrss)) 1e-14 else spec$tolPwrss
  function(nAGQ = spec$nAGQ, control = tight_control(tol), start = NULL, devFunOnly = FALSE) {
    if (isTRUE(spec$offset)) {
      glmer(spec$formula, data = spec$data, family = binomial, nAGQ = nAGQ, control = control,
            start = start, devFunOnly = devFunOnly, offset = off)
    } else {
      glmer(spec$formula, data = spec$data, family = binomial, nAGQ = nAGQ, control = control,
            start = start, devFunOnly = devFunOnly)
    }
  }
}
fit_tight <- function(run, nAGQ) {
  f0 <- run(nAGQ)
  # refit from its own optimum (bobyqa restarts with a fresh trust region)
  start <- if (nAGQ > 0) list(theta = getME(f0, "theta"), fixef = fixef(f0)) else
    list(theta = getME(f0, "theta"))
  run(nAGQ, start = start)
}
specs <- list(
  cbpp_laplace = list(formula = cbind(incidence, size - incidence) ~ period + (1 | herd),
                      data = cbpp, nAGQ = 1),
  cbpp_agq9 = list(formula = cbind(incidence, size - incidence) ~ period + (1 | herd),
                   data = cbpp, nAGQ = 9),
  grouse_nested = list(formula = TICKS > 0 ~ YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD),
                       data = gt, nAGQ = 1),
  verbagg_crossed = list(formula = r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item),
                         data = va, nAGQ = 1, tolPwrss = 1e-12),
  slopes_corr = list(formula = y ~ x + (1 + x | g) + (1 | h), data = sl, nAGQ = 1,
                     offset = TRUE),
  slopes_uncorr = list(formula = y ~ x + (1 + x || g), data = sl, nAGQ = 1, offset = TRUE))

ranef_of <- function(fit, k) {
  # the first k levels of each term: conditional mode and conditional SD
  re <- as.data.frame(ranef(fit, condVar = TRUE))
  re <- do.call(rbind, lapply(split(re, list(re$grpvar, re$term), drop = TRUE),
                              function(d) d[seq_len(min(k, nrow(d))), ]))
  list(group = as.character(re$grpvar), term = as.character(re$term),
       level = as.character(re$grp), value = re$condval, condsd = re$condsd)
}
varcorr_of <- function(fit) {
  vc <- VarCorr(fit)
  lapply(names(vc), function(nm) {
    m <- vc[[nm]]
    list(group = nm, columns = colnames(m), sd = unname(attr(m, "stddev")),
         corr = if (ncol(m) > 1) unname(attr(m, "correlation")) else NULL)
  })
}
marginal_prob <- function(fit, rows) {
  # population average: P = ∫ plogis(x'β + offset + s) N(s; 0, v) ds,
  # v = z_i' Σ z_i summed over the row's random-effect terms
  X <- getME(fit, "X"); beta <- fixef(fit); Z <- getME(fit, "Z")
  Lambda <- getME(fit, "Lambda"); S <- Lambda %*% t(Lambda)
  off <- getME(fit, "offset")
  sapply(rows, function(i) {
    eta <- sum(X[i, ] * beta) + off[i]
    v <- as.numeric(Z[i, , drop = FALSE] %*% S %*% t(Z[i, , drop = FALSE]))
    integrate(function(s) plogis(eta + s * sqrt(v)) * dnorm(s), -Inf, Inf,
              rel.tol = 1e-12, abs.tol = 0)$value
  })
}
summarise <- function(name, spec) {
  run <- fitter(spec)
  fit <- fit_tight(run, spec$nAGQ)
  cpu <- function(tm) tm[["user.self"]] + tm[["sys.self"]]
  tight_tm <- system.time(fit_tight(run, spec$nAGQ))
  default_ctl <- glmerControl()
  default_tm <- lapply(1:3, function(i) system.time(run(control = default_ctl)))
  default_fit <- run(control = default_ctl)
  theta <- getME(fit, "theta"); beta <- fixef(fit)
  dd <- run(devFunOnly = TRUE)
  pars <- c(theta, beta)
  shifts <- list(rep(0, length(pars)), 0.1 * sin(seq_along(pars)),
                 c(0.3 * cos(seq_along(theta)), -0.2 * cos(seq_along(beta))))
  devfun <- lapply(shifts, function(s) list(pars = unname(pars + s), value = dd(pars + s)))
  fit0 <- fit_tight(run, 0)
  dd0 <- run(nAGQ = 0, devFunOnly = TRUE)
  devfun0 <- lapply(list(getME(fit0, "theta"), getME(fit0, "theta") * 1.2 + 0.05),
                    function(t) list(theta = unname(t), value = dd0(t)))
  Z <- getME(fit, "Z")
  Zt <- as(Z, "TsparseMatrix")
  list(
    formula = paste(deparse(spec$formula), collapse = ""), nAGQ = spec$nAGQ,
    offset = isTRUE(spec$offset), nobs = nobs(fit),
    logLik = as.numeric(logLik(fit)), deviance = deviance(fit),
    minus2logLik = -2 * as.numeric(logLik(fit)), objective = unname(fit@devcomp$cmp[["dev"]]),
    conditional_deviance = sum(residuals(fit, type = "deviance")^2),
    AIC = AIC(fit), BIC = BIC(fit), df = attr(logLik(fit), "df"),
    fixef = as.list(beta), fixef_names = names(beta), se = unname(sqrt(diag(as.matrix(vcov(fit))))),
    vcov = unname(as.matrix(vcov(fit))),
    theta = unname(theta), theta_names = names(theta), lower = unname(getME(fit, "lower")),
    singular = isSingular(fit, tol = 1e-4),
    varcorr = varcorr_of(fit), ranef = ranef_of(fit, 3),
    fitted = unname(fitted(fit)[1:6]), fitted_rows = 1:6,
    marginal = marginal_prob(fit, 1:4), marginal_rows = 1:4,
    gradient = unname(fit@optinfo$derivs$gradient), hessian = unname(fit@optinfo$derivs$Hessian),
    devfun = devfun,
    stage1 = list(theta = unname(getME(fit0, "theta")), fixef = unname(fixef(fit0)),
                  minus2logLik = -2 * as.numeric(logLik(fit0)), devfun = devfun0),
    Z_dim = dim(Z), Z_colnames = colnames(Z),
    Z_triplets = if (length(Zt@x) <= 3000) list(i = Zt@i, j = Zt@j, x = Zt@x) else NULL,
    cnms = lapply(getME(fit, "cnms"), unname), flist = names(getME(fit, "flist")),
    n_levels = unname(sapply(getME(fit, "flist"), nlevels)),
    time_tight = tight_tm[["elapsed"]], cpu_tight = cpu(tight_tm),
    time_default = median(sapply(default_tm, function(tm) tm[["elapsed"]])),
    cpu_default = median(sapply(default_tm, cpu)),
    default_minus2logLik = -2 * as.numeric(logLik(default_fit)))
}
out <- lapply(names(specs), function(nm) { cat(nm, "\n"); summarise(nm, specs[[nm]]) })
names(out) <- names(specs)
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                     Matrix = as.character(packageVersion("Matrix")),
                     jsonlite = as.character(packageVersion("jsonlite")))
write_json(out, "tests/data/glmer_r.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null")
cat(R.version.string, "; lme4", as.character(packageVersion("lme4")), "\n")
