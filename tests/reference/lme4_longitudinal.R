# lme4 reference fits for chapter 10 (longitudinal and panel data) and chapter 11 (diagnostics).
#
# Run from the repository root:  Rscript tests/reference/lme4_longitudinal.R
# Reads mlm_helpers/data/sleepstudy.csv and tests/reference/grunfeld.csv (statsmodels' copy of
# Grunfeld's investment data, written by
#   statsmodels.datasets.grunfeld.load_pandas().data.assign(year=lambda d: d.year.astype(int))
#     .to_csv("tests/reference/grunfeld.csv", index=False)
# ) and writes tests/reference/lme4_longitudinal.csv in the long format of lme4_reference.csv.
source(file.path("tests", "reference", "lme4_common.R"))

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

fit_specs(specs, ic = FALSE, ngroups = FALSE)
add_firm_fixed_effects(grun)

write_rows("lme4_longitudinal.csv")
