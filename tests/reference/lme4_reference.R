# Reference fits from R's lme4 for the tests of mlm_helpers.
#
# Run from the repository root (needs Debian's r-cran-lme4 and r-cran-nlme):
#   Rscript tests/reference/lme4_reference.R
# It reads the CSVs bundled in mlm_helpers/data and writes
#   tests/reference/lme4_reference.csv   (one row per reported number)
# The tests compare against that CSV, so CI needs no R.
source(file.path("tests", "reference", "lme4_common.R"))

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

fit_specs(specs, ranef = TRUE)
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

write_rows("lme4_reference.csv")
