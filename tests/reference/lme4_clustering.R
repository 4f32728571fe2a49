# Reference for mlm_helpers.clustering.slope_se_comparison (chapter 01): three standard errors of
# HSB's SES slope, by lm, lmer (REML) and the cluster-robust CR1 sandwich (sandwich::vcovCL,
# type "HC1", whose small-sample factor is G/(G-1) (N-1)/(N-p)), and the two ICCs.
#
# Run from the repository root:  Rscript tests/reference/lme4_clustering.R
# Writes tests/reference/lme4_clustering.csv (quantity, value).
suppressPackageStartupMessages({library(lme4); library(sandwich)})
hsb <- read.csv(file.path("mlm_helpers", "data", "hsb.csv"), colClasses = c(School = "character"))
ols <- lm(MathAch ~ SES, data = hsb)
ri <- lmer(MathAch ~ SES + (1 | School), data = hsb, REML = TRUE)
rx <- lmer(SES ~ 1 + (1 | School), data = hsb, REML = TRUE)
icc <- function(m) { v <- as.data.frame(VarCorr(m))$vcov; v[1] / sum(v) }
out <- data.frame(
  quantity = c("ols_estimate", "ols_se", "ri_estimate", "ri_se", "cr1_se", "icc_x", "icc_y"),
  value = c(coef(ols)[["SES"]], sqrt(vcov(ols)["SES", "SES"]),
            fixef(ri)[["SES"]], sqrt(vcov(ri)["SES", "SES"]),
            sqrt(vcovCL(ols, cluster = ~School, type = "HC1")["SES", "SES"]),
            icc(rx), icc(ri))
)
write.csv(out, file.path("tests", "reference", "lme4_clustering.csv"), row.names = FALSE)
print(out, digits = 10)
