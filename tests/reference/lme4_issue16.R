# lme4 reference fits for issue 16: the fast engine on crossed, nested and three-level models.
#
# Run from the repository root:  Rscript tests/reference/lme4_issue16.R
# Draws four data sets (seeded here, stored as CSV next to this script so that R and Python fit
# the very same numbers) and fits lme4 (bobyqa) to them and to Penicillin and Pastes (lme4's own
# data), writing tests/reference/lme4_issue16.csv in the long format of lme4_reference.csv.
#   issue16_crossed_slopes.csv  60 subjects x 20 items, all crossed; x = +-0.5 within subject;
#                               random intercept and slope per subject, intercept per item;
#                               y_null: the same without item effects (a singular fit)
#   issue16_three_level.csv     100 schools x 5 classes x 8 pupils; school-level w, pupil x;
#                               random intercepts per school and class, x-slope per school
#   issue16_crossed_large.csv   200 x 200 levels, 8,000 rows in random cells
source(file.path("tests", "reference", "lme4_common.R"))
ref <- file.path("tests", "reference")
set.seed(16)

# crossed random slopes
ns <- 60; ni <- 20
cs <- expand.grid(item = sprintf("i%02d", 1:ni), subj = sprintf("s%02d", 1:ns), stringsAsFactors = FALSE)
cs <- cs[, c("subj", "item")]
cs$x <- ifelse((match(cs$item, sprintf("i%02d", 1:ni)) + match(cs$subj, sprintf("s%02d", 1:ns))) %% 2 == 0, 0.5, -0.5)
u0 <- rnorm(ns, 0, 3); u1 <- 0.4 * u0 + rnorm(ns, 0, 1.5); v0 <- rnorm(ni, 0, 2)
si <- match(cs$subj, sprintf("s%02d", 1:ns)); ii <- match(cs$item, sprintf("i%02d", 1:ni))
cs$y <- round(10 + 2 * cs$x + u0[si] + u1[si] * cs$x + v0[ii] + rnorm(nrow(cs), 0, 4), 4)
cs$y_null <- round(10 + 2 * cs$x + u0[si] + rnorm(nrow(cs), 0, 4), 4)
write.csv(cs, file.path(ref, "issue16_crossed_slopes.csv"), row.names = FALSE)

# three levels
nsch <- 100; ncl <- 5; m <- 8
tl <- data.frame(school = rep(sprintf("S%03d", 1:nsch), each = ncl * m))
tl$class <- paste0(tl$school, ":c", rep(rep(1:ncl, each = m), nsch))
sch <- rep(1:nsch, each = ncl * m); cl <- rep(1:(nsch * ncl), each = m)
w <- round(rnorm(nsch), 4); tl$w <- w[sch]
tl$x <- round(rnorm(nrow(tl)), 4)
tl$y <- round(50 + 2 * tl$w + 1.5 * tl$x + rnorm(nsch, 0, 2)[sch] + rnorm(nsch, 0, 0.7)[sch] * tl$x +
              rnorm(nsch * ncl, 0, 1.5)[cl] + rnorm(nrow(tl), 0, 4), 4)
write.csv(tl, file.path(ref, "issue16_three_level.csv"), row.names = FALSE)

# a larger crossed design
na <- 200; nb <- 200; n <- 8000
cells <- sample(na * nb, n)
lg <- data.frame(a = sprintf("a%03d", (cells - 1) %% na + 1), b = sprintf("b%03d", (cells - 1) %/% na + 1))
ai <- (cells - 1) %% na + 1; bi <- (cells - 1) %/% na + 1
lg$x <- round(rnorm(n), 4)
lg$y <- round(1 + 0.5 * lg$x + rnorm(na, 0, 1)[ai] + rnorm(nb, 0, 0.7)[bi] + rnorm(n, 0, 1.5), 4)
write.csv(lg, file.path(ref, "issue16_crossed_large.csv"), row.names = FALSE)

rd <- function(f, ...) read.csv(file.path(ref, f), colClasses = c(...))
cs <- rd("issue16_crossed_slopes.csv", subj = "character", item = "character")
tl <- rd("issue16_three_level.csv", school = "character", class = "character")
lg <- rd("issue16_crossed_large.csv", a = "character", b = "character")
data(Penicillin, package = "lme4"); data(Pastes, package = "lme4")

specs <- list(
  list("penicillin_reml", diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin, TRUE),
  list("penicillin_ml", diameter ~ 1 + (1 | plate) + (1 | sample), Penicillin, FALSE),
  list("pastes_nested_reml", strength ~ 1 + (1 | batch/cask), Pastes, TRUE),
  list("pastes_sample_reml", strength ~ 1 + (1 | batch) + (1 | sample), Pastes, TRUE),
  list("pastes_sample_ml", strength ~ 1 + (1 | batch) + (1 | sample), Pastes, FALSE),
  list("crossed_slopes_reml", y ~ x + (1 + x | subj) + (1 | item), cs, TRUE),
  list("crossed_slopes_ml", y ~ x + (1 + x | subj) + (1 | item), cs, FALSE),
  list("crossed_slopes_both_reml", y ~ x + (1 + x | subj) + (1 + x | item), cs, TRUE),
  list("crossed_uncorr_reml", y ~ x + (x || subj) + (1 | item), cs, TRUE),
  list("crossed_singular_reml", y_null ~ x + (1 | subj) + (1 | item), cs, TRUE),
  list("three_level_reml", y ~ w + x + (1 | school) + (1 | class), tl, TRUE),
  list("three_level_ml", y ~ w + x + (1 | school) + (1 | class), tl, FALSE),
  list("three_level_slope_reml", y ~ w + x + (1 + x | school) + (1 | class), tl, TRUE),
  list("crossed_large_reml", y ~ x + (1 | a) + (1 | b), lg, TRUE),
  list("crossed_large_ml", y ~ x + (1 | a) + (1 | b), lg, FALSE)
)
fit_specs(specs, ic = FALSE)
write_rows("lme4_issue16.csv")
