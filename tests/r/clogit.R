# Reference values for conditional logistic regression (tests/test_conditional.py).
# Run from the repository root: Rscript tests/r/clogit.R
# Writes tests/data/infert.csv (datasets::infert), tests/data/clogit_strata.csv
# (a constructed matched data set: 10 strata of 5-300 rows, 0 to all cases each)
# and tests/data/clogit_r.json: per fit of survival::clogit the coefficients,
# vcov, SEs, the null and fitted log-likelihoods, the LR, Wald and score tests
# as summary() prints them, and predict(type = "lp" / "risk" / "expected").
suppressPackageStartupMessages({library(survival); library(jsonlite)})
# tight: coxph's Newton stops when the relative change of the log-likelihood is
# below eps; toler.chol must then be smaller than eps (coxph.control warns otherwise)
ctl <- coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100)

inf <- datasets::infert   # (infert ships with base R, not survival)
inf$education <- as.character(inf$education)
write.csv(inf, "tests/data/infert.csv", row.names = FALSE)

# constructed: stratum sizes and case counts chosen to exercise the recursion:
# a stratum with one case, several with many, one with more cases than controls
# (m > n/2: the complement), one with no case and one with only cases.
set.seed(20261203)
sizes <- c(50, 80, 120, 300, 200, 150, 60, 90, 40, 5)
ncase <- c(3, 5, 8, 12, 40, 100, 1, 30, 0, 5)
st <- rep(seq_along(sizes), sizes)
n <- length(st)
x1 <- rnorm(n)
x2 <- rbinom(n, 1, 0.4)
x3 <- 50 + 10 * rnorm(n) + 3 * st          # large mean: centering matters
off <- 0.3 * rnorm(n)
w <- round(runif(n, 0.5, 2), 3)            # case weights (breslow/efron only)
eta <- 0.8 * x1 - 0.5 * x2 + 0.03 * x3 + off
case <- integer(n)
for (s in seq_along(sizes)) {
  rows <- which(st == s)
  if (ncase[s] > 0) case[rows[sample.int(length(rows), ncase[s], prob = exp(eta[rows]))]] <- 1L
}
cs <- data.frame(st = st, case = case, x1 = x1, x2 = x2, x3 = x3, off = off, w = w)
write.csv(cs, "tests/data/clogit_strata.csv", row.names = FALSE)
cs <- read.csv("tests/data/clogit_strata.csv")   # fit exactly what the tests read
inf <- read.csv("tests/data/infert.csv")

summarise <- function(f, data) {
  b <- coef(f); V <- vcov(f)
  list(method = f$method, n = f$n, nevent = f$nevent, iter = f$iter,
       coefficients = as.list(b), vcov = unname(V), se = as.list(sqrt(diag(V))),
       loglik_null = f$loglik[1], loglik = f$loglik[2],
       lr_test = 2 * (f$loglik[2] - f$loglik[1]), wald_test = unname(f$wald.test),
       score_test = unname(f$score), df = length(b),
       p_values = list(lr_test = pchisq(2 * (f$loglik[2] - f$loglik[1]), length(b), lower.tail = FALSE),
                       wald_test = pchisq(unname(f$wald.test), length(b), lower.tail = FALSE),
                       score_test = pchisq(unname(f$score), length(b), lower.tail = FALSE)),
       lp = unname(predict(f, type = "lp")), risk = unname(predict(f, type = "risk")),
       expected = unname(predict(f, type = "expected")))
}
fm_inf <- case ~ spontaneous + induced + strata(stratum)
out <- list()
for (m in c("exact", "breslow", "efron", "approximate"))
  out[[paste0("infert_", m)]] <- summarise(clogit(fm_inf, inf, method = m, control = ctl))

fm <- case ~ x1 + x2 + x3 + strata(st)
fm_off <- case ~ x1 + x2 + x3 + offset(off) + strata(st)
for (m in c("exact", "breslow", "efron"))
  out[[paste0("strata_", m)]] <- summarise(clogit(fm, cs, method = m, control = ctl))
out$strata_exact_offset <- summarise(clogit(fm_off, cs, method = "exact", control = ctl))
for (m in c("breslow", "efron")) {
  # robust = FALSE: with non-integer case weights coxph's default variance is
  # the robust (per-row sandwich) one; the model-based one is I(beta)^-1
  fw <- clogit(fm_off, cs, weights = w, method = m, control = ctl, robust = FALSE)
  out[[paste0("strata_", m, "_weighted_offset")]] <- summarise(fw)
  # robust (sandwich) variance clustered on the stratum: its meat is the sum of
  # the outer products of the per-stratum score contributions
  fr <- clogit(case ~ x1 + x2 + x3 + offset(off) + strata(st) + cluster(st), cs, weights = w,
               method = m, control = ctl)
  out[[paste0("strata_", m, "_weighted_offset")]]$robust_vcov <- unname(vcov(fr))
}
# R ignores case weights for the exact method (with a warning): record it
wmsg <- tryCatch({clogit(fm, cs, weights = w, method = "exact", control = ctl); "none"},
                 warning = function(e) conditionMessage(e))
out$exact_weights_warning <- wmsg
# LR tests of dropping each term (the type-II tests of an additive model)
full <- clogit(fm, cs, method = "exact", control = ctl)
out$strata_exact_drop1 <- sapply(c("x1", "x2", "x3"), function(t) {
  small <- clogit(update(fm, as.formula(paste(". ~ . -", t))), cs, method = "exact",
                  control = ctl)
  2 * (full$loglik[2] - small$loglik[2])
}, simplify = FALSE)
out$provenance <- list(R = R.version.string, survival = as.character(packageVersion("survival")),
                       jsonlite = as.character(packageVersion("jsonlite")),
                       control = "coxph.control(eps = 1e-12, toler.chol = 1e-15, iter.max = 100)")
write_json(out, "tests/data/clogit_r.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
