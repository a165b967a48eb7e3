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

res$provenance <- paste("R", R.version$major, R.version$minor, "; MASS",
                        as.character(packageVersion("MASS")), "; ordinal",
                        as.character(packageVersion("ordinal")))
writeLines(toJSON(res, digits = 17, auto_unbox = TRUE, pretty = TRUE), "tests/data/ordinal_r.json")
