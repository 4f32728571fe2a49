# lme4 reference fits for the crossed and three-level designs of chapters 08 and 09.
#
# Run from the repository root:  Rscript tests/reference/lme4_crossed_nested.R
# Reads two data sets drawn once with mlm_helpers.designs (seeded; stored as CSV next to this
# script so that R and Python fit the very same numbers):
#   designs_crossed.csv      simulate_crossed(40, 10, per_a=6, tau_a=4, tau_b=2, sigma2=9,
#                            a_effect=1, b_effect=1, seed=2), random effects dropped
#   designs_three_level.csv  simulate_three_level(30, 3, 10, tau_school=4, tau_class=2, sigma2=20,
#                            school_effect=1, pupil_effect=2, seed=9), random effects dropped
# and writes tests/reference/lme4_crossed_nested.csv in the long format of lme4_reference.csv.
source(file.path("tests", "reference", "lme4_common.R"))
ref <- file.path("tests", "reference")
cr <- read.csv(file.path(ref, "designs_crossed.csv"), colClasses = c(student = "character", rater = "character"))
tl <- read.csv(file.path(ref, "designs_three_level.csv"), colClasses = c(school = "character", class = "character"))

specs <- list(
  list("crossed_reml", y ~ x_student + x_rater + (1 | student) + (1 | rater), cr, TRUE),
  list("crossed_ml", y ~ x_student + x_rater + (1 | student) + (1 | rater), cr, FALSE),
  list("crossed_student_only_reml", y ~ x_student + x_rater + (1 | student), cr, TRUE),
  list("three_level_reml", y ~ w + x + (1 | school) + (1 | class), tl, TRUE),
  list("three_level_ml", y ~ w + x + (1 | school) + (1 | class), tl, FALSE),
  list("three_level_class_only_reml", y ~ w + x + (1 | class), tl, TRUE)
)
fit_specs(specs, ic = FALSE)
write_rows("lme4_crossed_nested.csv")
