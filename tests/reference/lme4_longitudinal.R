# lme4 reference fits for chapter 10 (longitudinal and panel data) and chapter 11 (diagnostics).
#
# Run from the repository root:  Rscript tests/reference/lme4_longitudinal.R
# Reads mlm_helpers/data/sleepstudy.csv and tests/reference/grunfeld.csv (statsmodels' copy of
# Grunfeld's investment data, written by
#   statsmodels.datasets.grunfeld.load_pandas().data.assign(year=lambda d: d.year.astype(int))
#     .to_csv("tests/reference/grunfeld.csv", index=False)
# ) and writes tests/reference/lme4_longitudinal.csv in the long format of lme4_reference.csv.
suppressPackageStartupMessages(library(lme4))

sleep <- read.csv(file.path("mlm_helpers", "data", "sleepstudy.csv"), colClasses = c(Subject = "character"))
sleep$Subject <- factor(sleep$Subject)
sleep$Days_c <- sleep$Days - 4.5                   # time centred at the middle of the study
sleep29 <- subset(sleep, Days >= 2)                # days 0-1 were adaptation and training
sleep29$Days2 <- sleep29$Days - 2                  # days of sleep deprivation

grun <- read.csv(file.path("tests", "reference", "grunfeld.csv"))
grun$firm <- factor(grun$firm)
grun$value_m <- ave(grun$value, grun$firm)         # firm means (Mundlak)
grun$capital_m <- ave(grun$capital, grun$firm)

specs <- list(
  list("sleep_centred_reml", Reaction ~ Days_c + (Days_c | Subject), sleep, TRUE),
  list("sleep_days29_reml", Reaction ~ Days2 + (Days2 | Subject), sleep29, TRUE),
  list("sleep_days29_ml", Reaction ~ Days2 + (Days2 | Subject), sleep29, FALSE),
  list("grunfeld_re_reml", invest ~ value + capital + (1 | firm), grun, TRUE),
  list("grunfeld_re_ml", invest ~ value + capital + (1 | firm), grun, FALSE),
  list("grunfeld_mundlak_reml", invest ~ value + capital + value_m + capital_m + (1 | firm), grun, TRUE)
)

rows <- list()
add <- function(id, quantity, name1, name2, value) {
  rows[[length(rows) + 1]] <<- data.frame(model = id, quantity = quantity, name1 = name1,
                                          name2 = name2, value = value)
}
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
for (s in specs) {
  id <- s[[1]]
  m <- lmer(s[[2]], data = s[[3]], REML = s[[4]], control = ctrl)
  add(id, "formula", paste(deparse(s[[2]]), collapse = ""), "", NA)
  add(id, "reml", "", "", as.numeric(s[[4]]))
  add(id, "loglik", "", "", as.numeric(logLik(m)))
  add(id, "nobs", "", "", nobs(m))
  add(id, "singular", "", "", as.numeric(isSingular(m)))
  add(id, "sigma2", "", "", sigma(m)^2)
  cf <- coef(summary(m))
  for (k in seq_len(nrow(cf))) {
    nm <- sub("^\\(Intercept\\)$", "Intercept", rownames(cf)[k])
    add(id, "fixef", nm, "", cf[k, "Estimate"])
    add(id, "se", nm, "", cf[k, "Std. Error"])
  }
  vc <- as.data.frame(VarCorr(m))
  for (k in seq_len(nrow(vc))) {
    v1 <- ifelse(is.na(vc$var1[k]), "", sub("^\\(Intercept\\)$", "Intercept", vc$var1[k]))
    v2 <- ifelse(is.na(vc$var2[k]), "", sub("^\\(Intercept\\)$", "Intercept", vc$var2[k]))
    add(id, "vcov", paste(vc$grp[k], v1, sep = "|"), v2, vc$vcov[k])
    add(id, "sdcor", paste(vc$grp[k], v1, sep = "|"), v2, vc$sdcor[k])
  }
}
# Fixed firm effects (the within estimator) by OLS with one dummy per firm, for comparison.
fe <- lm(invest ~ value + capital + firm, data = grun)
for (nm in c("value", "capital")) {
  add("grunfeld_fe_ols", "fixef", nm, "", coef(fe)[[nm]])
  add("grunfeld_fe_ols", "se", nm, "", coef(summary(fe))[nm, "Std. Error"])
}

out <- do.call(rbind, rows)
write.csv(out, file.path("tests", "reference", "lme4_longitudinal.csv"), row.names = FALSE)
cat(sprintf("R %s, lme4 %s: wrote %d rows\n", getRversion(), packageVersion("lme4"), nrow(out)))
