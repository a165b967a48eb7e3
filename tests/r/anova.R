# Reference values for tests/test_anova.py (tests per term): writes tests/data/anova_r.json.
# Run from the repository root: Rscript tests/r/anova.R
# Packages: car (Anova, linearHypothesis), sandwich (vcovHC), MASS (birthwt), nnet (multinom),
# jsonlite. glm fits are tight (epsilon 1e-14) and refitted from their own estimate before
# vcov is taken (R's glm reports the covariance of the previous IRLS iteration).
suppressPackageStartupMessages({library(car); library(sandwich); library(MASS); library(nnet);
                                library(jsonlite)})
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
tight <- function(fit) update(fit, start = coef(fit), control = ctl)

bw <- MASS::birthwt
bw$race <- factor(bw$race)
n <- nrow(bw)
bw$w <- 1 + (seq_len(n) %% 3)          # python: 1 + (np.arange(1, n + 1) % 3)
bw$o <- (bw$lwt - 130) / 100           # python: (lwt - 130) / 100

tab <- function(a) {     # car puts Df first for Wald tables, second for LR ones
  st <- intersect(c("LR Chisq", "Chisq"), names(a))
  list(term = rownames(a), stat = unname(a[[st]]), df = unname(a[["Df"]]),
       p = unname(a[["Pr(>Chisq)"]]))
}
anovas <- function(fit, vc = vcov(fit)) list(
  II_LR = tab(Anova(fit, type = "II", test.statistic = "LR")),
  III_LR = tab(Anova(fit, type = "III", test.statistic = "LR")),
  II_Wald = tab(Anova(fit, type = "II", test.statistic = "Wald", vcov. = vc)),
  III_Wald = tab(Anova(fit, type = "III", test.statistic = "Wald", vcov. = vc)))
d1 <- function(fit) {
  d <- drop1(fit, test = "LRT")
  list(term = rownames(d), df = unname(d$Df), deviance = unname(d$Deviance),
       aic = unname(d$AIC), lrt = unname(d$LRT), p = unname(d[["Pr(>Chi)"]]))
}
lh <- function(fit, h, rhs = NULL) {
  r <- linearHypothesis(fit, h, rhs = rhs)
  list(stat = r$Chisq[2], df = r$Df[2], p = r[["Pr(>Chisq)"]][2])
}

b1 <- tight(glm(low ~ age * smoke + race + lwt + ht + ui, binomial, bw, control = ctl))
b2 <- tight(glm(low ~ lwt + race * smoke + ptl, binomial, bw, control = ctl))
b3 <- tight(glm(low ~ age + race + smoke, binomial, bw, weights = w, offset = o, control = ctl))
b1s <- tight(glm(low ~ age + smoke + race + lwt, binomial, bw, control = ctl))

out <- list(
  provenance = list(R = R.version.string, car = as.character(packageVersion("car")),
                    sandwich = as.character(packageVersion("sandwich")),
                    nnet = as.character(packageVersion("nnet")),
                    MASS = as.character(packageVersion("MASS")), script = "tests/r/anova.R"),
  b1 = c(anovas(b1), list(drop1 = d1(b1), deviance = deviance(b1),
                          HC0 = anovas(b1, vcovHC(b1, type = "HC0"))[c("II_Wald", "III_Wald")])),
  b2 = c(anovas(b2), list(drop1 = d1(b2), deviance = deviance(b2))),
  b3 = c(anovas(b3), list(drop1 = d1(b3), deviance = deviance(b3))),
  hyp = list(
    age = lh(b1, "age = 0"),
    race_lwt = lh(b1, c("race2 = race3", "lwt = 0")),
    combo = lh(b1, "2*age - lwt = 1"),
    smoke_int = lh(b1, c("smoke + 30*age:smoke = 0.5"))),
  lr = {a <- anova(b1s, b1, test = "LRT")
        list(stat = a$Deviance[2], df = a$Df[2], p = a[["Pr(>Chi)"]][2])}
)

# ---- multinomial: anes96, PID (7 classes) ~ logpopul + age*educ3 + vote
an <- read.csv("tests/data/anes96.csv")
an$educ3 <- factor(pmin(pmax(an$educ, 3), 5))     # python: np.clip(educ, 3, 5)
an$vote <- factor(an$vote)
an$PID <- factor(an$PID)
mform <- PID ~ logpopul + age * educ3 + vote
m1 <- multinom(mform, an, Hess = TRUE, trace = FALSE, maxit = 2000, reltol = 1e-14,
               abstol = 1e-300)
# Newton polish of a multinomial logit on design X (n, p), classes y: the exact MLE
mnl <- function(X, y, B) {
  Y <- model.matrix(~ y - 1)[, -1, drop = FALSE]; K1 <- ncol(Y); p <- ncol(X)
  for (it in 1:50) {
    Z <- cbind(0, X %*% B); P <- exp(Z - apply(Z, 1, max)); P <- P / rowSums(P)
    P1 <- P[, -1, drop = FALSE]
    g <- as.vector(crossprod(X, Y - P1))            # column-major: (p, K1)
    H <- matrix(0, p * K1, p * K1)
    for (a in 1:K1) for (b in 1:K1) {
      w <- P1[, a] * ((a == b) - P1[, b])
      H[(a - 1) * p + 1:p, (b - 1) * p + 1:p] <- crossprod(X, X * w)
    }
    step <- solve(H, g); B <- B + matrix(step, p, K1)
    if (max(abs(step)) < 1e-13) break
  }
  Z <- cbind(0, X %*% B); lse <- apply(Z, 1, function(z) max(z) + log(sum(exp(z - max(z)))))
  ll <- sum(Z[cbind(seq_along(y), as.integer(y))] - lse)
  list(B = B, ll = ll, V = solve(H))
}
X <- model.matrix(mform, an); y <- an$PID
full <- mnl(X, y, t(coef(m1)))
asgn <- attr(X, "assign"); tl <- attr(terms(mform), "term.labels")
fac <- attr(terms(mform), "factors")
K1 <- nlevels(y) - 1
refit <- function(keep) {
  Xs <- X[, keep, drop = FALSE]
  start <- t(coef(multinom(y ~ Xs - 1, trace = FALSE, maxit = 2000, reltol = 1e-12)))
  mnl(Xs, y, start)$ll
}
rels <- function(t) which(sapply(seq_along(tl), function(u)
  u != t && all(!(fac[, t] & !fac[, u]))))
# class-major coefficient vector as nnet's vcov names it ("2:age")
bvec <- as.vector(full$B); p <- ncol(X)
idx <- function(cols) as.vector(outer(cols, (0:(K1 - 1)) * p, "+"))
# V in the same (p within class) order as bvec: full$V is already that order
wald <- function(rows) { b <- bvec[rows]; V <- full$V[rows, rows]
  list(stat = as.numeric(b %*% solve(V, b)), df = length(rows)) }
II_LR <- III_LR <- II_W <- III_W <- list()
for (t in seq_along(tl)) {
  r <- rels(t); cols_t <- which(asgn == t); cols_r <- which(asgn %in% r)
  ll1 <- refit(which(!(asgn %in% c(t, r))))
  ll2 <- if (length(r)) refit(which(!(asgn %in% r))) else full$ll
  II_LR[[tl[t]]] <- list(stat = 2 * (ll2 - ll1), df = length(cols_t) * K1)
  III_LR[[tl[t]]] <- list(stat = 2 * (full$ll - refit(which(asgn != t))),
                          df = length(cols_t) * K1)
  III_W[[tl[t]]] <- wald(idx(cols_t))
  # type II Wald as car's Anova.II.default: the term's rows made V-orthogonal to the relatives'
  S <- idx(c(cols_t, cols_r)); R <- idx(cols_r)
  if (length(R)) {
    Ns <- MASS::Null(full$V[S, R])              # c with c' V[S, R] = 0
    L <- t(Ns); b <- as.vector(L %*% bvec[S])
    II_W[[tl[t]]] <- list(stat = as.numeric(b %*% solve(L %*% full$V[S, S] %*% t(L), b)),
                          df = nrow(L))
  } else II_W[[tl[t]]] <- wald(S)
}
III_W[["(Intercept)"]] <- wald(idx(which(asgn == 0)))
carII <- Anova(m1, type = "II"); carIII <- Anova(m1, type = "III")
out$multinom <- list(
  loglik = full$ll, deviance = -2 * full$ll, nnet_loglik = as.numeric(logLik(m1)),
  II_LR = II_LR, III_LR = III_LR, II_Wald = II_W, III_Wald = III_W,
  car_II_LR = tab(carII), car_III_LR = tab(carIII),
  hyp = {b <- bvec; V <- full$V; cn <- colnames(X); cls <- levels(y)[-1]
         k <- function(cl, nm) (match(cl, cls) - 1) * p + match(nm, cn)
         # "2:age = 3:age" and "4:vote1 = 0"
         L <- matrix(0, 2, length(b)); L[1, k("2", "age")] <- 1; L[1, k("3", "age")] <- -1
         L[2, k("4", "vote1")] <- 1
         d <- L %*% b; list(stat = as.numeric(t(d) %*% solve(L %*% V %*% t(L), d)), df = 2)}
)
write(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
      "tests/data/anova_r.json")
cat("wrote tests/data/anova_r.json\n")
