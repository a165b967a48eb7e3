# Residuals, influence and goodness of fit of binomial glms, as R computes them.
#
# Run from the repository root:   Rscript tests/r/influence.R
# Writes
#   tests/data/influence_esoph.csv  MASS-free R datasets::esoph with integer codes
#                                   (agegp 1-6, alcgp 1-4, tobgp 1-4; ncases, ncontrols)
#   tests/data/influence_r.json     per model: coefficients, residuals of every type
#                                   (residuals.glm), rstandard (deviance, pearson),
#                                   rstudent, hatvalues, cooks.distance, dfbeta, dfbetas,
#                                   influence.measures (infmat, is.inf); the HL tables;
#                                   rms::residuals.lrm(type = "gof"); grouped Pearson and
#                                   deviance chi-squares over covariate patterns.
# Read by tests/test_influence.py and tests/test_goodness.py.
#
# Every fit is tight (epsilon = 1e-14) and refitted from its own estimate so that the
# IRLS weights behind hat values, dfbeta and the QR are those of the estimate reported.
# Needs jsonlite and rms (Debian r-cran-rms).

library(jsonlite)
suppressMessages(library(rms))

ctl <- glm.control(epsilon = 1e-14, maxit = 100)
tight <- function(formula, data, weights = NULL) {
  data$.w <- if (is.null(weights)) rep(1, nrow(data)) else weights
  fit <- glm(formula, family = binomial, data = data, weights = .w, control = ctl)
  glm(formula, family = binomial, data = data, weights = .w, control = ctl, start = coef(fit))
}

bw <- read.csv("tests/data/birthwt.csv")
n <- nrow(bw)
bw$w <- 1 + (seq_len(n) %% 3)                  # prior weights 1, 2, 3
bw$off <- 0.1 * ((seq_len(n) %% 5) - 2)        # offsets -0.2 ... 0.2

es <- datasets::esoph
esoph_codes <- data.frame(agegp = as.integer(es$agegp), alcgp = as.integer(es$alcgp),
                          tobgp = as.integer(es$tobgp), ncases = es$ncases,
                          ncontrols = es$ncontrols)
write.csv(esoph_codes, "tests/data/influence_esoph.csv", row.names = FALSE)

diagnostics <- function(fit) {
  infl <- influence(fit)
  im <- influence.measures(fit)
  k <- fit$rank
  list(
    coef = unname(coef(fit)), names = names(coef(fit)),
    fitted = unname(fitted(fit)),
    response = unname(residuals(fit, type = "response")),
    pearson = unname(residuals(fit, type = "pearson")),
    deviance = unname(residuals(fit, type = "deviance")),
    working = unname(residuals(fit, type = "working")),
    std_deviance = unname(rstandard(fit, type = "deviance")),
    std_pearson = unname(rstandard(fit, type = "pearson")),
    rstudent = unname(rstudent(fit)),
    hat = unname(hatvalues(fit)),
    cooks = unname(cooks.distance(fit)),
    dfbeta = unname(dfbeta(fit)),
    dfbetas = unname(dfbetas(fit)),
    sigma = unname(infl$sigma),
    dffit = unname(im$infmat[, k + 1]),
    cov_ratio = unname(im$infmat[, k + 2]),
    is_inf = unname(im$is.inf)
  )
}

out <- list(R = R.version.string,
            packages = list(rms = as.character(packageVersion("rms")),
                            jsonlite = as.character(packageVersion("jsonlite"))))

# 1. birthwt, unit weights, a factor
f1 <- low ~ age + lwt + factor(race) + smoke + ptl + ht + ui
m1 <- tight(f1, bw)
out$birthwt <- diagnostics(m1)

# 2. prior weights and an offset (the column lwt2 = 2 lwt that the Python fit aliases
#    is left out here: glm would report it NA and estimate the rest as below)
m2 <- tight(low ~ age + lwt + factor(race) + smoke + ht + offset(off), bw, weights = bw$w)
out$weighted <- diagnostics(m2)
out$weighted$w <- bw$w
out$weighted$offset <- bw$off

# 3. grouped binomial: cbind(successes, failures), factors
m3 <- tight(cbind(ncases, ncontrols) ~ factor(agegp) + factor(alcgp) + tobgp, esoph_codes)
out$esoph <- diagnostics(m3)
out$esoph$deviance_total <- deviance(m3)
out$esoph$df_residual <- df.residual(m3)

# 4. Hosmer-Lemeshow, ResourceSelection::hoslem.test (0.3-6) written out:
#    groups cut at unique(quantile(yhat, seq(0, 1, 1/g))) (type 7), include.lowest,
#    chi-square over both columns of the observed/expected table, df g - 2
hoslem <- function(y, yhat, g = 10) {
  qq <- unique(quantile(yhat, probs = seq(0, 1, 1 / g)))
  cutyhat <- cut(yhat, breaks = qq, include.lowest = TRUE)
  observed <- xtabs(cbind(y0 = 1 - y, y1 = y) ~ cutyhat)
  expected <- xtabs(cbind(yhat0 = 1 - yhat, yhat1 = yhat) ~ cutyhat)
  chisq <- sum((observed - expected)^2 / expected)
  list(statistic = chisq, df = g - 2, p_value = 1 - pchisq(chisq, g - 2),
       observed1 = unname(observed[, 2]), observed0 = unname(observed[, 1]),
       expected1 = unname(expected[, 2]), expected0 = unname(expected[, 1]),
       n = unname(as.vector(table(cutyhat))), breaks = unname(qq))
}
out$hoslem <- list(g10 = hoslem(m1$y, fitted(m1), 10), g5 = hoslem(m1$y, fitted(m1), 5),
                   g8 = hoslem(m1$y, fitted(m1), 8))
# tied fitted values: fewer groups than g, still g - 2 df
m5 <- tight(low ~ smoke + factor(race) + ht, bw)
out$hoslem$ties <- hoslem(m5$y, fitted(m5), 10)

# 5. le Cessie - van Houwelingen - Copas - Hosmer unweighted sum of squares (rms)
bw$racef <- factor(bw$race)
l1 <- lrm(low ~ age + lwt + racef + smoke + ptl + ht + ui, data = bw, x = TRUE, y = TRUE,
          eps = 1e-13, maxit = 100)
gof <- residuals(l1, type = "gof")
out$lecessie <- list(sse = unname(gof[1]), expected = unname(gof[2]), sd = unname(gof[3]),
                     z = unname(gof[4]), p_value = unname(gof[5]),
                     coef = unname(coef(l1)))

# 6. grouped Pearson and deviance chi-squares over covariate patterns: the patterns of
#    low ~ smoke + factor(race) + ht pooled, the same model fitted to the pooled counts
pat <- aggregate(cbind(cases = low, total = 1) ~ smoke + race + ht, data = bw, FUN = sum)
m4 <- tight(cbind(cases, total - cases) ~ smoke + factor(race) + ht, pat)
out$patterns <- list(n_patterns = nrow(pat), deviance = deviance(m4),
                     pearson = sum(residuals(m4, type = "pearson")^2),
                     df = df.residual(m4), coef = unname(coef(m4)))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, matrix = "rowmajor"),
           "tests/data/influence_r.json")
