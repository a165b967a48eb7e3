# Reference values for grouped binomial responses (tests/test_grouped_binomial.py).
# Run from the repository root: Rscript tests/r/grouped.R
# Writes tests/data/grouped_{esoph,menarche,budworm}.csv (the data),
# tests/data/grouped_fits.json (coefficients, SEs, logLik, deviances, AIC, BIC, df)
# and tests/data/grouped_residuals.json (residuals, hatvalues, cooks.distance, rstandard).
suppressPackageStartupMessages({library(jsonlite); library(MASS); library(brglm2); library(sandwich)})
ctl <- glm.control(epsilon = 1e-14, maxit = 100)

# esoph with unordered factors (treatment contrasts against the first level)
es <- datasets::esoph
for (v in c("agegp", "alcgp", "tobgp")) es[[v]] <- factor(as.character(es[[v]]), levels = levels(es[[v]]))
es$total <- es$ncases + es$ncontrols
es$prop <- es$ncases / es$total
write.csv(es, "tests/data/grouped_esoph.csv", row.names = FALSE)
mn <- MASS::menarche
write.csv(mn, "tests/data/grouped_menarche.csv", row.names = FALSE)
# budworm (Venables & Ripley, MASS 4th ed. sec. 7.2), with frequency weights w
# and one group of zero trials (kept by R with weight 0: not counted in nobs)
bw <- data.frame(ldose = c(0:5, 0:5, 2.5), sex = c(rep("M", 6), rep("F", 6), "F"),
                 numdead = c(1, 4, 9, 13, 18, 20, 0, 2, 6, 10, 12, 16, 0),
                 w = c(1, 2, 1, 3, 1, 2, 2, 1, 1, 2, 3, 1, 2))
bw$numalive <- ifelse(seq_len(nrow(bw)) == 13, 0, 20 - bw$numdead)
bw$sex <- factor(bw$sex, levels = c("F", "M"))
write.csv(bw, "tests/data/grouped_budworm.csv", row.names = FALSE)

tight <- function(formula, data, wcol = NULL) {
  data$.w <- if (is.null(wcol)) 1 else data[[wcol]]
  f0 <- glm(formula, family = binomial, data = data, weights = .w, control = ctl)
  # refit from its own estimate: R's SEs lag one IRLS iteration
  glm(formula, family = binomial, data = data, weights = .w, control = ctl, start = coef(f0))
}
fits <- list(
  esoph = tight(cbind(ncases, ncontrols) ~ agegp + tobgp + alcgp, es),
  menarche = tight(cbind(Menarche, Total - Menarche) ~ Age, mn),
  esoph_prop = tight(prop ~ agegp + alcgp, es, "total"),
  budworm = tight(cbind(numdead, numalive) ~ sex * ldose, bw, "w"))
summ <- lapply(fits, function(f) list(
  coefficients = as.list(coef(f)), se = as.list(sqrt(diag(vcov(f)))),
  logLik = as.numeric(logLik(f)), deviance = deviance(f), null_deviance = f$null.deviance,
  aic = AIC(f), bic = BIC(f), df_residual = f$df.residual, df_null = f$df.null,
  nobs = nobs(f), converged = f$converged,
  se_HC0 = as.list(sqrt(diag(vcovHC(f, type = "HC0")))),
  se_HC1 = as.list(sqrt(diag(vcovHC(f, type = "HC1"))))))
# cluster-robust (sandwich::vcovCL, HC1: G/(G-1) (n-1)/(n-k)) of esoph by age group
summ$esoph$se_cluster_agegp <- as.list(sqrt(diag(vcovCL(fits$esoph, cluster = es$agegp, type = "HC1"))))
# Firth (brglm2's AS_mean = Jeffreys-prior penalty for the logit link)
firth <- glm(cbind(Menarche, Total - Menarche) ~ Age, family = binomial, data = mn,
             method = "brglmFit", type = "AS_mean", epsilon = 1e-12, maxit = 200)
summ$menarche_firth <- list(coefficients = as.list(coef(firth)),
                            se = as.list(sqrt(diag(vcov(firth)))), converged = firth$converged)
write_json(summ, "tests/data/grouped_fits.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)

res <- lapply(fits, function(f) list(
  deviance = unname(residuals(f, "deviance")), pearson = unname(residuals(f, "pearson")),
  response = unname(residuals(f, "response")), working = unname(residuals(f, "working")),
  fitted = unname(fitted(f)), prior_weights = unname(weights(f, "prior")),
  # influence drops the rows of zero prior weight (as R does): rows lists the kept ones (1-based)
  rows = unname(which(weights(f, "prior") != 0)),
  hatvalues = unname(hatvalues(f)), cooks_distance = unname(cooks.distance(f)),
  rstandard_deviance = unname(rstandard(f, type = "deviance")),
  rstandard_pearson = unname(rstandard(f, type = "pearson"))))
write_json(res, "tests/data/grouped_residuals.json", digits = NA, auto_unbox = FALSE, pretty = TRUE)
cat(R.version.string, "; jsonlite", as.character(packageVersion("jsonlite")), "; MASS",
    as.character(packageVersion("MASS")), "; brglm2", as.character(packageVersion("brglm2")), "; sandwich",
    as.character(packageVersion("sandwich")), "\n")
