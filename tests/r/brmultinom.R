# Multinomial Firth (bias-reduced) logistic regression references for
# tests/test_multinomial_firth.py: R brglm2::brmultinom.
#
# What it computes: brmultinom(type = "AS_mean") fits. For the canonical
# multinomial logit the mean-bias-reducing adjusted score is the gradient of the
# Jeffreys-penalized log-likelihood l(b) + 1/2 log det I(b) (Firth 1993;
# Kosmidis & Firth 2011), so these are the estimates logitlab's
# penalty = "firth" must reproduce. brglm2 fits the equivalent Poisson
# log-linear model with one nuisance parameter per row (fixed totals); it is run
# far past its default tolerance (epsilon = 1e-12, up to 5000 iterations).
#
# Stored per fit:
#   coef      (K-1) x p matrix, rows = non-reference classes, columns
#             "(Intercept)" then the predictors (coef.brmultinom);
#   se        same shape, sqrt(diag(vcov)) (vcov.brmultinom: the inverse
#             Fisher information at the estimate);
#   logLik    logLik.brmultinom = -deviance / 2 of the Poisson fit, which is
#             sum_i w_i log p_i,y_i (the counts are w_i for the observed class,
#             0 otherwise, and the fitted means w_i p_ik);
#   loglik    sum_i w_i log p_i,y_i from brglm2's fitted probabilities, written
#             out here;
#   penalized_loglik  loglik + 1/2 log det I, I = sum_i w_i x~ x~' (x)
#             (diag p - p p') over the free classes, written out here;
#   penalized_loglik_null  max over the intercepts (slopes 0) of
#             l(b) + 1/2 log det I(b) with the information of the full model
#             (logistf's LR-test convention), by optim (BFGS, numerical
#             gradient) followed by Newton steps on a finite-difference
#             gradient and Hessian;
#   grad_max  max |grad of l + 1/2 log det I| at brglm2's estimate, by central
#             differences (steps 1e-5 / max |x_j|): checks that brglm2's estimate is the
#             maximizer (not part of what the test compares);
#   iter, converged  brglm2's own.
#
# Fits:
#   iris_sepal:  iris (tests/data/iris.csv), target ~ sepal length + sepal
#                width. Setosa is (quasi-)separated from the other classes in
#                the sepal plane: nnet::multinom's coefficients diverge.
#   iris_all:    target ~ all four measurements: setosa is linearly separable
#                (complete separation); no finite MLE.
#   birthwt:     MASS::birthwt (tests/data/birthwt.csv), race ~ age + lwt +
#                smoke: an ordinary fit with a finite MLE (reference race 1).
#   birthwt_weighted: the same with prior weights w = 1 + (i mod 3) (i the
#                1-based row) and reference class race = 2 (ref = 2).
#
# Run from the repository root:  Rscript tests/r/brmultinom.R
# Writes tests/data/brmultinom_r.json.

suppressMessages({
  library(brglm2)
  library(jsonlite)
})

ctrl <- list(type = "AS_mean", epsilon = 1e-12, maxit = 5000)

design_of <- function(fit) fit$x            # model matrix, "(Intercept)" first

# sum_i w_i (diag p_i - p_i p_i') (x) x_i x_i' from the free-class
# probabilities P (n x (K-1)): block (k, l) is X' diag(w (p_k d_kl - p_k p_l)) X
information <- function(X, P, w) {
  C <- ncol(P); p <- ncol(X)
  I <- matrix(0, p * C, p * C)
  for (k in seq_len(C)) for (l in seq_len(C)) {
    a <- w * (P[, k] * (k == l) - P[, k] * P[, l])
    I[(k - 1) * p + seq_len(p), (l - 1) * p + seq_len(p)] <- crossprod(X, X * a)
  }
  I
}

# penalized log-likelihood at a coefficient matrix B ((K-1) x p) of the
# non-reference classes; the penalty's information at Bpen (default B)
penalized <- function(B, X, codes, w, ref, K, Bpen = B) {
  probs <- function(B) {
    Z <- matrix(0, nrow(X), K)
    Z[, -ref] <- X %*% t(B)
    Z <- Z - apply(Z, 1, max)
    E <- exp(Z)
    E / rowSums(E)
  }
  P <- probs(B)
  ll <- sum(w * log(P[cbind(seq_len(nrow(X)), codes)]))
  Ppen <- probs(Bpen)
  ld <- determinant(information(X, Ppen[, -ref, drop = FALSE], w), logarithm = TRUE)
  list(loglik = ll, penalized = ll + 0.5 * as.numeric(ld$modulus))
}

# central differences with steps h (a vector: one per coordinate)
grad_fd <- function(f, b, h = rep(1e-5, length(b))) {
  sapply(seq_along(b), function(j) {
    e <- replace(numeric(length(b)), j, h[j])
    (f(b + e) - f(b - e)) / (2 * h[j])
  })
}

hess_fd <- function(f, b, h = 1e-4) {
  k <- length(b)
  H <- matrix(0, k, k)
  for (j in seq_len(k)) {
    e <- replace(numeric(k), j, h)
    hs <- rep(h, k)
    H[, j] <- (grad_fd(f, b + e, hs) - grad_fd(f, b - e, hs)) / (2 * h)
  }
  (H + t(H)) / 2
}

null_penalized <- function(B, X, codes, w, ref, K) {
  # intercepts free, slopes 0, penalty of the full model's information at (b0, 0)
  full <- function(b0) cbind(b0, matrix(0, nrow(B), ncol(B) - 1))
  f <- function(b0) {
    Bn <- full(b0)
    penalized(Bn, X, codes, w, ref, K)$penalized
  }
  start <- B[, 1]
  o <- optim(start, function(b) -f(b), method = "BFGS",
             control = list(reltol = 1e-15, maxit = 1000))
  b <- o$par
  for (it in 1:5) b <- b - solve(hess_fd(f, b), grad_fd(f, b))
  list(value = f(b), intercepts = b, grad_max = max(abs(grad_fd(f, b))))
}

one_fit <- function(formula, data, ref = 1, weights = NULL) {
  data$.w <- if (is.null(weights)) rep(1, nrow(data)) else weights
  fit <- brmultinom(formula, data = data, weights = .w, ref = ref, control = ctrl)
  B <- coef(fit)
  K <- fit$ncat
  X <- design_of(fit)
  y <- model.response(model.frame(formula, data))
  codes <- as.integer(factor(y, levels = fit$lev))
  w <- data$.w
  se <- matrix(sqrt(diag(vcov(fit))), nrow = K - 1, byrow = TRUE, dimnames = dimnames(B))
  P <- fitted(fit)
  ll_fitted <- sum(w * log(P[cbind(seq_len(nrow(X)), codes)]))
  pen <- penalized(B, X, codes, w, fit$ref, K)
  f <- function(b) penalized(matrix(b, nrow(B)), X, codes, w, fit$ref, K)$penalized
  # steps 1e-5 / max |x_j| (as.vector(B) runs over the classes fastest)
  steps <- rep(1e-5 / pmax(1, apply(abs(X), 2, max)), each = nrow(B))
  null <- null_penalized(B, X, codes, w, fit$ref, K)
  list(classes = fit$lev[-fit$ref], reference = fit$lev[fit$ref], terms = colnames(B),
       coef = unname(B), se = unname(se), logLik = as.numeric(logLik(fit)),
       loglik = pen$loglik, loglik_from_fitted = ll_fitted,
       penalized_loglik = pen$penalized,
       penalized_loglik_null = null$value, null_intercepts = null$intercepts,
       null_grad_max = null$grad_max,
       grad_max = max(abs(grad_fd(f, as.vector(B), steps))),
       iter = fit$iter, converged = fit$converged,
       weights = if (is.null(weights)) NULL else weights)
}

iris <- read.csv("tests/data/iris.csv", check.names = FALSE)
names(iris) <- c("sl", "sw", "pl", "pw", "target")
iris$target <- factor(iris$target)
bw <- read.csv("tests/data/birthwt.csv")
bw$race <- factor(bw$race)
bw_w <- 1 + (seq_len(nrow(bw)) %% 3)

fits <- suppressWarnings(list(
  iris_sepal = one_fit(target ~ sl + sw, iris),
  iris_all = one_fit(target ~ sl + sw + pl + pw, iris),
  birthwt = one_fit(race ~ age + lwt + smoke, bw),
  birthwt_weighted = one_fit(race ~ age + lwt + smoke, bw, ref = 2, weights = bw_w)
))
for (nm in names(fits)) {
  cat(nm, ": iter", fits[[nm]]$iter, "converged", fits[[nm]]$converged,
      "max |grad l*| (finite differences)", signif(fits[[nm]]$grad_max, 3),
      "null grad", signif(fits[[nm]]$null_grad_max, 3), "\n")
}
out <- list(
  provenance = list(
    script = "tests/r/brmultinom.R",
    R = R.version.string,
    brglm2 = as.character(packageVersion("brglm2")),
    jsonlite = as.character(packageVersion("jsonlite")),
    control = "brmultinom(type = 'AS_mean', epsilon = 1e-12, maxit = 5000)"),
  fits = fits)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null"),
           file.path("tests", "data", "brmultinom_r.json"))
cat("wrote tests/data/brmultinom_r.json\n")
