# A correlated random slope whose maximum-likelihood fit is on the boundary (tests/test_mixed.py).
# Run from the repository root: Rscript tests/r/glmer_boundary.R
# Writes tests/data/glmm_bacteria.csv (MASS::bacteria: H. influenzae in 50 children with
# otitis media, Menzies et al.; Venables & Ripley, MASS) and tests/data/glmer_boundary.json:
# glmer(y ~ trt + week + (week | ID)) with tight control, refit from its own optimum:
# logLik, fixed effects and their SEs, theta, SDs and the correlation (+1: singular).
suppressPackageStartupMessages({library(lme4); library(MASS); library(jsonlite)})
write.csv(bacteria, "tests/data/glmm_bacteria.csv", row.names = FALSE)
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5, rhoend = 1e-10),
                     tolPwrss = 1e-12, calc.derivs = TRUE)
fo <- y ~ trt + week + (week | ID)
f0 <- glmer(fo, data = bacteria, family = binomial, control = ctrl)
f <- glmer(fo, data = bacteria, family = binomial, control = ctrl,
           start = list(theta = getME(f0, "theta"), fixef = fixef(f0)))
vc <- as.data.frame(VarCorr(f))
out <- list(bacteria_slope = list(
  formula = "y ~ trt + week + (week | ID)", logLik = as.numeric(logLik(f)),
  fixef_names = names(fixef(f)), fixef = unname(fixef(f)),
  se = unname(sqrt(diag(as.matrix(vcov(f))))), theta = unname(getME(f, "theta")),
  sd = vc$sdcor[is.na(vc$var2)], corr = vc$sdcor[!is.na(vc$var2)],
  singular = isSingular(f), trt_levels = levels(bacteria$trt)))
out$versions <- list(R = R.version.string, lme4 = as.character(packageVersion("lme4")),
                     MASS = as.character(packageVersion("MASS")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/data/glmer_boundary.json")
