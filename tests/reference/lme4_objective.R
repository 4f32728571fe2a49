# lme4 reference values for mh.profiled_deviance and mh.deviance_parts (chapter 05 and its
# appendix "Under the hood"): lme4's profiled deviance (devfun) at given theta, and the
# penalised-least-squares pieces at the REML optimum of one-grouping-factor models.
#
# Run from the repository root:  Rscript tests/reference/lme4_objective.R
# Writes tests/reference/lme4_objective.csv (model, quantity, name1, name2, value):
#   quantity "deviance": name1 = "REML"/"ML", name2 = theta (";"-separated), value = devfun(theta)
#   quantity "theta", "RX", "cbeta"... at lme4's REML optimum (name1 = index)
source(file.path("tests", "reference", "lme4_common.R"))

dat <- function(name, groups) {
  d <- read.csv(file.path("mlm_helpers", "data", paste0(name, ".csv")),
                colClasses = setNames(rep("character", length(groups)), groups))
  for (g in groups) d[[g]] <- factor(d[[g]])
  d
}
dye <- dat("dyestuff", "Batch")
dye2 <- dat("dyestuff2", "Batch")
hsb <- dat("hsb", "School")
sleep <- dat("sleepstudy", "Subject")

dev_at <- function(id, formula, data, thetas) {
  for (reml in c(TRUE, FALSE)) {
    f <- lmer(formula, data = data, REML = reml, devFunOnly = TRUE, control = ctrl)
    for (th in thetas) add(id, "deviance", ifelse(reml, "REML", "ML"),
                           paste(sprintf("%.17g", th), collapse = ";"), f(th))
  }
  m <- lmer(formula, data = data, REML = TRUE, control = ctrl)
  th <- getME(m, "theta")
  for (k in seq_along(th)) add(id, "theta", k, "", th[[k]])
  RX <- getME(m, "RX")  # upper triangular: R_X' R_X = X'X - R_ZX' R_ZX
  for (a in seq_len(nrow(RX))) for (b in seq_len(ncol(RX))) add(id, "RX", a, b, RX[a, b])
  add(id, "deviance_at_optimum", "REML", "", deviance(m, REML = TRUE))
  add(id, "pwrss", "", "", getME(m, "devcomp")$cmp[["pwrss"]])
}
dev_at("dyestuff", Yield ~ 1 + (1 | Batch), dye, list(0, 0.5, 0.8, 1.5))
dev_at("dyestuff2", Yield ~ 1 + (1 | Batch), dye2, list(0, 0.3, 0.7, 1))
dev_at("hsb_ses", MathAch ~ SES + (1 | School), hsb, list(0.3, 0.355, 0.36))
dev_at("sleep_rs", Reaction ~ Days + (Days | Subject), sleep, list(c(1, 0, 1), c(0.97, 0.015, 0.23)))
write_rows("lme4_objective.csv")
