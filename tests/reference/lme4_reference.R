# Reference fits from R's lme4 for the tests of mlm_helpers.
#
# Run from the repository root (needs Debian's r-cran-lme4 and r-cran-nlme):
#   Rscript tests/reference/lme4_reference.R
# It reads the CSVs bundled in mlm_helpers/data and writes
#   tests/reference/lme4_reference.csv   (one row per reported number)
# The tests compare against that CSV, so CI needs no R.
suppressPackageStartupMessages(library(lme4))

dat <- function(name, groups) {
  d <- read.csv(file.path("mlm_helpers", "data", paste0(name, ".csv")),
                colClasses = setNames(rep("character", length(groups)), groups))
  for (g in groups) d[[g]] <- factor(d[[g]])
  d
}
hsb <- dat("hsb", "School")
hsb$SES_gm <- ave(hsb$SES, hsb$School)      # school mean of SES over the students present
hsb$SES_c <- hsb$SES - hsb$SES_gm           # SES centred within school
sleep <- dat("sleepstudy", "Subject")
dye <- dat("dyestuff", "Batch")
dye2 <- dat("dyestuff2", "Batch")
pen <- dat("penicillin", c("plate", "sample"))
pastes <- dat("pastes", c("batch", "cask", "sample"))

# id, formula, data, REML
specs <- list(
  list("sleep_ri_reml", Reaction ~ Days + (1 | Subject), sleep, TRUE),
  list("sleep_ri_ml", Reaction ~ Days + (1 | Subject), sleep, FALSE),
  list("sleep_rs_reml", Reaction ~ Days + (Days | Subject), sleep, TRUE),
  list("sleep_rs_ml", Reaction ~ Days + (Days | Subject), sleep, FALSE),
  list("sleep_uncorr_reml", Reaction ~ Days + (Days || Subject), sleep, TRUE),
  list("sleep_null_reml", Reaction ~ 1 + (1 | Subject), sleep, TRUE),
  list("dyestuff_reml", Yield ~ 1 + (1 | Batch), dye, TRUE),
  list("dyestuff_ml", Yield ~ 1 + (1 | Batch), dye, FALSE),
  list("dyestuff2_reml", Yield ~ 1 + (1 | Batch), dye2, TRUE),
  list("penicillin_reml", diameter ~ 1 + (1 | plate) + (1 | sample), pen, TRUE),
  list("penicillin_ml", diameter ~ 1 + (1 | plate) + (1 | sample), pen, FALSE),
  list("pastes_reml", strength ~ 1 + (1 | batch/cask), pastes, TRUE),
  list("pastes_ml", strength ~ 1 + (1 | batch/cask), pastes, FALSE),
  list("pastes_sample_reml", strength ~ 1 + (1 | sample), pastes, TRUE),
  list("hsb_null_reml", MathAch ~ 1 + (1 | School), hsb, TRUE),
  list("hsb_null_ml", MathAch ~ 1 + (1 | School), hsb, FALSE),
  list("hsb_ses_reml", MathAch ~ SES + (1 | School), hsb, TRUE),
  list("hsb_ses_ml", MathAch ~ SES + (1 | School), hsb, FALSE),
  list("hsb_rs_reml", MathAch ~ SES_c + SES_gm + (SES_c | School), hsb, TRUE),
  list("hsb_rs_ml", MathAch ~ SES_c + SES_gm + (SES_c | School), hsb, FALSE)
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
  re <- ranef(m)
  for (g in names(re)) {
    r <- re[[g]]
    for (lev in rownames(r)) for (v in colnames(r)) {
      add(id, "ranef", paste(g, lev, sep = "|"), sub("^\\(Intercept\\)$", "Intercept", v), r[lev, v])
    }
  }
}
# Likelihood-ratio tests as R's anova() reports them (refit = FALSE keeps REML for random parts).
lr <- function(id, m0, m1, refit) {
  a <- anova(m0, m1, refit = refit)
  add(id, "lrt_chisq", "", "", a$Chisq[2])
  add(id, "lrt_df", "", "", a$Df[2])
  add(id, "lrt_p", "", "", a[["Pr(>Chisq)"]][2])
}
lr("sleep_ri_vs_rs_reml",
   lmer(Reaction ~ Days + (1 | Subject), sleep), lmer(Reaction ~ Days + (Days | Subject), sleep), FALSE)
lr("hsb_null_vs_ses_ml",
   lmer(MathAch ~ 1 + (1 | School), hsb), lmer(MathAch ~ SES + (1 | School), hsb), TRUE)

out <- do.call(rbind, rows)
write.csv(out, file.path("tests", "reference", "lme4_reference.csv"), row.names = FALSE)
cat(sprintf("R %s, lme4 %s: wrote %d rows\n", getRversion(), packageVersion("lme4"), nrow(out)))
