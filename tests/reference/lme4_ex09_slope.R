# lme4 reference for exercise ex-09-slope (chapter 09): a random slope of x at the school level
# in the three-level pupils data.
#
# Run from the repository root:  Rscript tests/reference/lme4_ex09_slope.R
# Reads tests/reference/ex09_slope_pupils.csv, written from chapter 09's pupils
# (designs.simulate_three_level(20, 3, 10, tau_school=4, tau_class=2, sigma2=20, school_effect=1.0,
# pupil_effect=2.0, seed=9)) with y + slope[school] * x added, slope = rng.normal(0, 1, 20) from
# np.random.default_rng(19) (the exercise's construction), and writes lme4_ex09_slope.csv in the
# long format of lme4_reference.csv.
source(file.path("tests", "reference", "lme4_common.R"))

pupils <- read.csv(file.path("tests", "reference", "ex09_slope_pupils.csv"))
pupils$school <- factor(pupils$school)
pupils$class <- factor(pupils$class)

specs <- list(
  list("ex09_slope_reml", y ~ w + x + (1 + x | school) + (1 | class), pupils, TRUE)
)
fit_specs(specs, ic = FALSE)
write_rows("lme4_ex09_slope.csv")
