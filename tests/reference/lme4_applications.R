# lme4 reference fits for the case studies of chapter 13 (chapters/13_applications.ipynb):
# case 1's models M1-M4 with the sector coded as in chapters 04 and 13 (Catholic the reference).
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
hsb$Sector <- factor(hsb$Sector, levels = c("Catholic", "Public"))  # treatment coding: SectorPublic
hsb$SES_gm <- ave(hsb$SES, hsb$School)      # school mean of SES over the students present
hsb$SES_c <- hsb$SES - hsb$SES_gm           # SES centred within school
grunfeld <- read.csv(file.path("tests", "reference", "grunfeld.csv"))
grunfeld$firm <- factor(grunfeld$firm)

specs <- list(
  list("hsb_sector_reml", MathAch ~ Sector + (1 | School), hsb, TRUE),
  list("hsb_sector_ses_reml", MathAch ~ Sector + SES_c + SES_gm + (1 | School), hsb, TRUE),
  list("hsb_sector_slope_reml", MathAch ~ Sector + SES_c + SES_gm + (SES_c | School), hsb, TRUE),
  list("hsb_sector_rs_reml", MathAch ~ SES_c * Sector + SES_gm + (SES_c | School), hsb, TRUE),
  list("hsb_sector_rs_ml", MathAch ~ SES_c * Sector + SES_gm + (SES_c | School), hsb, FALSE),
  list("grunfeld_ri_reml", invest ~ value + capital + (1 | firm), grunfeld, TRUE)
)

fit_specs(specs)
# R's SectorPublic is Python's (patsy's) Sector[T.Public]: name the terms the way mh.fit does
rows <- lapply(rows, function(r) { r$name1 <- gsub("SectorPublic", "Sector[T.Public]", r$name1, fixed = TRUE); r })
add_firm_fixed_effects(grunfeld)

write_rows("lme4_applications.csv")
