# Polished optima of the fits of tests/r/glmer.R (run it first), for tests/test_glmm_core.py.
# Run from the repository root: Rscript tests/r/glmer_polish.R
# bobyqa stops where lme4's own gradient is still up to 1e-3 (VerbAgg), and lme4's Hessian is
# by second differences with step 1e-4, whose rounding noise moves the SEs by up to 5e-4 there.
# Here, from glmer's optimum: Newton steps on lme4's deviance function (devFunOnly, tolPwrss 1e-14)
# with lme4's deriv12 at step 1e-3 (the function is smooth to ~1e-9, so step 1e-3 keeps rounding
# noise below 1e-3 / 1e-6 per Hessian entry), then SEs = sqrt(diag(2 H⁻¹)_ββ) there.
# Writes tests/data/glmer_polished.json: per fit pars (θ, β), deviance, gradient, se, steps.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
ref <- fromJSON("tests/data/glmer_r.json", simplifyVector = TRUE)
cbpp <- read.csv("tests/data/glmm_cbpp.csv"); cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)
gt <- read.csv("tests/data/glmm_grouseticks.csv")
for (v in c("BROOD", "YEAR", "LOCATION")) gt[[v]] <- factor(gt[[v]])
va <- read.csv("tests/data/glmm_verbagg.csv")
va$item <- factor(va$item, levels = levels(lme4::VerbAgg$item)); va$id <- factor(va$id)
va$r2 <- factor(va$r2)
sl <- read.csv("tests/data/glmm_slopes.csv")
specs <- list(
  cbpp_laplace = list(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, 1, FALSE),
  cbpp_agq9 = list(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, 9, FALSE),
  grouse_nested = list(TICKS > 0 ~ YEAR + scale(HEIGHT) + (1 | LOCATION/BROOD), gt, 1, FALSE),
  verbagg_crossed = list(r2 ~ Anger + Gender + btype + situ + (1 | id) + (1 | item), va, 1, FALSE),
  slopes_corr = list(y ~ x + (1 + x | g) + (1 | h), sl, 1, TRUE),
  slopes_uncorr = list(y ~ x + (1 + x || g), sl, 1, TRUE))
out <- lapply(names(specs), function(nm) {
  s <- specs[[nm]]
  ctl <- glmerControl(tolPwrss = if (nm == "verbagg_crossed") 1e-12 else 1e-14)  # as glmer.R
  dd <- if (s[[4]]) glmer(s[[1]], s[[2]], binomial, nAGQ = s[[3]], control = ctl, devFunOnly = TRUE,
                          offset = off) else
    glmer(s[[1]], s[[2]], binomial, nAGQ = s[[3]], control = ctl, devFunOnly = TRUE)
  pars <- c(ref[[nm]]$theta, unlist(ref[[nm]]$fixef))
  nt <- length(ref[[nm]]$theta)
  steps <- c()
  for (it in 1:4) {
    d <- lme4:::deriv12(dd, pars, delta = 1e-3)
    step <- solve(d$Hessian, d$gradient)
    pars <- pars - step
    steps <- c(steps, max(abs(step)))
  }
  d <- lme4:::deriv12(dd, pars, delta = 1e-3)
  cat(nm, "steps", steps, "gradient", max(abs(d$gradient)), "\n")
  list(pars = unname(pars), deviance = dd(pars), gradient = unname(d$gradient), steps = steps,
       se = unname(sqrt(diag(2 * solve(d$Hessian))[-(1:nt)])))
})
names(out) <- names(specs)
write_json(out, "tests/data/glmer_polished.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
