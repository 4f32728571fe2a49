# lme4 reference fits for the capstone (chapters/14_capstone.ipynb): every model it fits.
#
# Run from the repository root:  Rscript tests/reference/lme4_chem97.R
# Reads mlm_helpers/data/chem97.csv.gz (mlmRev's Chem97 as the package ships it) and writes
#   tests/reference/lme4_chem97.csv   (same long format as lme4_reference.csv)
# The predictors are built as the chapter builds them: gcse = gcsescore minus its mean over all
# students (mlmRev's gcsecnt), gcse_gm = the school mean of gcse, gcse_c = gcse - gcse_gm.
# gender is read as text, so "F" is the reference level as in Python (term genderM).
source(file.path("tests", "reference", "lme4_common.R"))

chem <- read.csv(file.path("mlm_helpers", "data", "chem97.csv.gz"),
                 colClasses = c(lea = "character", school = "character", student = "character",
                                gender = "character"))
chem$school <- factor(chem$school)
chem$lea <- factor(chem$lea)
chem$gcse <- chem$gcsescore - mean(chem$gcsescore)
chem$gcse_gm <- ave(chem$gcse, chem$school)
chem$gcse_c <- chem$gcse - chem$gcse_gm

specs <- list(
  list("chem_null_reml", score ~ 1 + (1 | school), chem, TRUE),
  list("chem_gender_reml", score ~ gender + (1 | school), chem, TRUE),
  list("chem_m1_reml", score ~ gcse_c + gcse_gm + (1 | school), chem, TRUE),
  list("chem_m1_ml", score ~ gcse_c + gcse_gm + (1 | school), chem, FALSE),
  list("chem_m2_reml", score ~ gcse_c + gcse_gm + (1 + gcse_c | school), chem, TRUE),
  list("chem_m2_ml", score ~ gcse_c + gcse_gm + (1 + gcse_c | school), chem, FALSE),
  list("chem_m3_reml", score ~ gcse_c + gcse_gm + gender + (1 + gcse_c | school), chem, TRUE),
  list("chem_m3_ml", score ~ gcse_c + gcse_gm + gender + (1 + gcse_c | school), chem, FALSE),
  list("chem_lea_reml", score ~ gcse_c + gcse_gm + (1 | lea) + (1 | school), chem, TRUE)
)

fit_specs(specs)

write_rows("lme4_chem97.csv")
