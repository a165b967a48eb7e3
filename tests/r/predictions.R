# Reference values for prediction intervals (tests/test_predictions.py).
# R: predict.glm(se.fit=TRUE) on the link and response scales; robust (HC0, HC1)
# and cluster (vcovCL HC1) standard errors of the linear predictor from the
# sandwich package: se_i = sqrt(x_i' V x_i).
# Run from the repository root: Rscript tests/r/predictions.R
suppressPackageStartupMessages({library(MASS); library(sandwich); library(jsonlite)})
d <- read.csv("tests/data/birthwt.csv")
d$race <- factor(d$race)
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
f <- low ~ age + lwt + race + smoke + age:smoke
fit0 <- glm(f, family = binomial, data = d, control = ctl)
fit <- glm(f, family = binomial, data = d, control = ctl, start = coef(fit0))  # SEs at the optimum
newd <- data.frame(age = c(18, 25, 35, 45), lwt = c(100, 130, 160, 250),
                   race = factor(c(1, 2, 3, 2), levels = 1:3), smoke = c(0, 1, 1, 0))
link <- predict(fit, newdata = newd, type = "link", se.fit = TRUE)
resp <- predict(fit, newdata = newd, type = "response", se.fit = TRUE)
train <- predict(fit, type = "link", se.fit = TRUE)
Xn <- model.matrix(delete.response(terms(fit)), newd)
se_with <- function(V) sqrt(rowSums((Xn %*% V) * Xn))
cluster <- d$ftv   # visits as clusters (0..6)
out <- list(
  provenance = paste("tests/r/predictions.R;", R.version.string, "; sandwich",
                     as.character(packageVersion("sandwich"))),
  formula = "low ~ age + lwt + C(race) + smoke + age:smoke",
  newdata = newd,
  coef = unname(coef(fit)),
  link_fit = unname(link$fit), link_se = unname(link$se.fit),
  response_fit = unname(resp$fit), response_se = unname(resp$se.fit),
  train_link_se = unname(train$se.fit),
  se_HC0 = unname(se_with(vcovHC(fit, type = "HC0"))),
  se_HC1 = unname(se_with(vcovHC(fit, type = "HC1"))),
  se_cluster = unname(se_with(vcovCL(fit, cluster = cluster, type = "HC1")))
)
write_json(out, "tests/data/predictions_r.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
