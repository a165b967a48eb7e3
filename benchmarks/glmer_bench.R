# lme4::glmer side of benchmarks/glmer_bench.py.
#   Rscript benchmarks/glmer_bench.R spec.json out.json
# spec.json: {"csv": path, "formula": "...", "factors": {column: [levels, ...]}, "repeat": N}
# Reads the CSV (not timed), makes the listed columns factors with the given level
# order, then times glmer(formula, family = binomial, control = glmerControl())
# (lme4's defaults: nAGQ = 1, stage 1 (nAGQ = 0) by bobyqa, stage 2 by Nelder_Mead,
# tolPwrss = 1e-7) `repeat` times, and writes the fastest elapsed time (and that
# fit's CPU time), all times, logLik, the deviance, fixef, theta and the
# convergence messages.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
spec <- fromJSON(args[1], simplifyVector = TRUE)
d <- read.csv(spec$csv, stringsAsFactors = FALSE)
for (col in names(spec$factors)) d[[col]] <- factor(d[[col]], levels = spec$factors[[col]])
form <- as.formula(spec$formula)
times <- numeric(0); cpu <- numeric(0)
fit <- NULL
for (i in seq_len(spec[["repeat"]])) {
  gc()
  tm <- system.time(fit <- glmer(form, data = d, family = binomial,
                                 control = glmerControl()))
  times <- c(times, tm[["elapsed"]])
  cpu <- c(cpu, tm[["user.self"]] + tm[["sys.self"]])
}
msgs <- c(fit@optinfo$conv$lme4$messages, fit@optinfo$warnings)
out <- list(time = min(times), times = times, cpu = cpu[which.min(times)],
            logLik = as.numeric(logLik(fit)), deviance = as.numeric(-2 * logLik(fit)),
            fixef = as.list(fixef(fit)), theta = as.list(getME(fit, "theta")),
            messages = if (length(msgs)) as.character(unlist(msgs)) else character(0),
            lme4 = as.character(packageVersion("lme4")), R = R.version.string)
writeLines(toJSON(out, digits = I(17), auto_unbox = TRUE), args[2])
