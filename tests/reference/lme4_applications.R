# lme4 reference fits for the case studies of chapter 13 (chapters/13_applications.ipynb).
#
# Run from the repository root:  Rscript tests/reference/lme4_applications.R
# Reads the HSB CSVs bundled in mlm_helpers/data and tests/reference/grunfeld.csv
# (statsmodels' copy of the Grunfeld panel, committed as data; it was written once with
# statsmodels.datasets.grunfeld.load_pandas().data.to_csv(index=False)), and writes
#   tests/reference/lme4_applications.csv   (same long format as lme4_reference.csv)
source(file.path("tests", "reference", "lme4_common.R"))

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

fit_specs(specs)
add_firm_fixed_effects(grunfeld)

write_rows("lme4_applications.csv")
