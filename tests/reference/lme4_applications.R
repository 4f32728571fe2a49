# lme4 reference fits for the case studies of chapter 13 (chapters/13_applications.ipynb).
#
# Run from the repository root:  Rscript tests/reference/lme4_applications.R
# Reads the HSB CSVs bundled in mlm_helpers/data and tests/reference/grunfeld.csv
# (statsmodels' copy of the Grunfeld panel, committed as data; it was written once with
# statsmodels.datasets.grunfeld.load_pandas().data.to_csv(index=False)), and writes
#   tests/reference/lme4_applications.csv   (same long format as lme4_reference.csv)
suppressPackageStartupMessages(library(lme4))

hsb <- read.csv(file.path("mlm_helpers", "data", "hsb.csv"), colClasses = c(School = "character"))
sch <- read.csv(file.path("mlm_helpers", "data", "hsb_schools.csv"), colClasses = c(School = "character"))
hsb <- merge(hsb, sch[, c("School", "Sector")], by = "School", sort = FALSE)
hsb$School <- factor(hsb$School)
hsb$catholic <- as.numeric(hsb$Sector == "Catholic")
hsb$SES_gm <- ave(hsb$SES, hsb$School)      # school mean of SES over the students present
hsb$SES_c <- hsb$SES - hsb$SES_gm           # SES centred within school
grunfeld <- read.csv(file.path("tests", "reference", "grunfeld.csv"))
grunfeld$firm <- factor(grunfeld$firm)

specs <- list(
  list("hsb_sector_reml", MathAch ~ catholic + (1 | School), hsb, TRUE),
  list("hsb_sector_ses_reml", MathAch ~ catholic + SES_c + SES_gm + (1 | School), hsb, TRUE),
  list("hsb_sector_rs_reml", MathAch ~ catholic * SES_c + SES_gm + (SES_c | School), hsb, TRUE),
  list("hsb_sector_rs_ml", MathAch ~ catholic * SES_c + SES_gm + (SES_c | School), hsb, FALSE),
  list("grunfeld_ri_reml", invest ~ value + capital + (1 | firm), grunfeld, TRUE)
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
  add(id, "aic", "", "", AIC(m))
  add(id, "bic", "", "", BIC(m))
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
  for (g in names(ngrps(m))) add(id, "ngroups", g, "", ngrps(m)[[g]])
}
# Firm fixed effects (OLS with a dummy per firm) for the Grunfeld comparison
fe <- lm(invest ~ value + capital + firm, data = grunfeld)
for (nm in c("value", "capital")) {
  add("grunfeld_fe_ols", "fixef", nm, "", coef(fe)[[nm]])
  add("grunfeld_fe_ols", "se", nm, "", coef(summary(fe))[nm, "Std. Error"])
}

out <- do.call(rbind, rows)
write.csv(out, file.path("tests", "reference", "lme4_applications.csv"), row.names = FALSE)
cat(sprintf("R %s, lme4 %s: wrote %d rows\n", getRversion(), packageVersion("lme4"), nrow(out)))
