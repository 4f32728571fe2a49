# lme4 reference fits for mlm_helpers.montecarlo (chapter 12).
#
# Run from the repository root:  Rscript tests/reference/lme4_montecarlo.R
# Reads the simulated data sets tests/reference/montecarlo_<J>x<m>.csv ("10x5s": seed 6, a singular fit;
# otherwise replication 0 of
# montecarlo.simulate_dataset(J, m, rep=0, seed=...); tests/test_montecarlo_lme4.py checks
# that they are reproduced exactly) and writes tests/reference/lme4_montecarlo.csv in the
# long format of lme4_reference.csv (model, quantity, name1, name2, value).
source(file.path("tests", "reference", "lme4_common.R"))

for (cell in c("30x5", "20x30", "10x5", "10x5s")) {
  d <- read.csv(file.path("tests", "reference", paste0("montecarlo_", cell, ".csv")))
  d$g <- factor(d$g)
  for (reml in c(TRUE, FALSE)) {
    id <- paste0("mc_", cell, if (reml) "_reml" else "_ml")
    m <- lmer(y ~ x * w + (1 + x | g), data = d, REML = reml, control = ctrl)
    add(id, "loglik", value = as.numeric(logLik(m)))
    add(id, "singular", value = as.numeric(isSingular(m)))
    fe <- summary(m)$coefficients
    for (k in rownames(fe)) {
      add(id, "fixef", k, value = fe[k, "Estimate"])
      add(id, "se", k, value = fe[k, "Std. Error"])
    }
    vc <- as.data.frame(VarCorr(m))
    for (i in seq_len(nrow(vc))) {
      add(id, "vcov", paste0(vc$grp[i], "|", vc$var1[i]), ifelse(is.na(vc$var2[i]), "", vc$var2[i]), vc$vcov[i])
    }
  }
}
write_rows("lme4_montecarlo.csv")
