# lme4 reference values for issue 17 (no silently wrong model): the statsmodels path checked
# against lme4's profiled deviance, and fits where lme4's default optimiser stops short.
#
# Run from the repository root:  Rscript tests/reference/lme4_issue17.R
# Writes, next to this script:
#   scotssec.csv   mlmRev::ScotsSec (Paterson 1991; 3435 Scottish secondary-school pupils from
#                  148 primary and 19 secondary schools), the columns attain, verbal, sex,
#                  primary, second (school ids as text)
#   oxboys.csv     nlme::Oxboys (Goldstein 1987; heights of 26 boys in Oxford, 9 occasions each),
#                  the columns Subject, age, height, Occasion
#   orthodont.csv  nlme::Orthodont (Potthoff & Roy 1964; distance from the pituitary to the
#                  pterygomaxillary fissure, mm, of 27 children at ages 8-14), the columns
#                  distance, age, Subject, Sex
#   exam15.csv     mlmRev::Exam (Goldstein et al. 1993; GCSE scores of 4,059 London pupils in 65
#                  schools), the pupils of the first 15 schools, the columns school, normexam,
#                  standLRT, sex
#   lme4_issue17.csv   the long format of lme4_reference.csv (model, quantity, name1, name2,
#                  value), plus rows quantity = "deviance" with name1 = "REML"/"ML" and
#                  name2 = the theta at which lme4's devfun was evaluated ("group.term=value;...")
# Reads chem97_like.csv (simulated in Python with the structure of mlmRev::Chem97's
# score ~ gender + (gender | lea); see tests/test_issue17_lme4.py::make_chem97_like).
source(file.path("tests", "reference", "lme4_common.R"))
suppressPackageStartupMessages({library(mlmRev); library(nlme)})
ref <- file.path("tests", "reference")

data(ScotsSec, package = "mlmRev")
scots <- data.frame(attain = ScotsSec$attain, verbal = ScotsSec$verbal, sex = as.character(ScotsSec$sex),
                    primary = as.character(ScotsSec$primary), second = as.character(ScotsSec$second))
write.csv(scots, file.path(ref, "scotssec.csv"), row.names = FALSE)
data(Oxboys, package = "nlme")
ox <- data.frame(Subject = as.character(Oxboys$Subject), age = Oxboys$age, height = Oxboys$height,
                 Occasion = as.integer(as.character(Oxboys$Occasion)))
write.csv(ox, file.path(ref, "oxboys.csv"), row.names = FALSE)
data(Orthodont, package = "nlme")
orth <- data.frame(distance = Orthodont$distance, age = Orthodont$age, Subject = as.character(Orthodont$Subject),
                   Sex = as.character(Orthodont$Sex))
write.csv(orth, file.path(ref, "orthodont.csv"), row.names = FALSE)
orth <- read.csv(file.path(ref, "orthodont.csv"), colClasses = c(Subject = "character"))
data(Exam, package = "mlmRev")
exam <- data.frame(school = as.character(Exam$school), normexam = Exam$normexam, standLRT = Exam$standLRT,
                   sex = as.character(Exam$sex))
write.csv(exam[exam$school %in% unique(exam$school)[1:15], ], file.path(ref, "exam15.csv"), row.names = FALSE)
exam15 <- read.csv(file.path(ref, "exam15.csv"), colClasses = c(school = "character"))
scots <- read.csv(file.path(ref, "scotssec.csv"), colClasses = c(primary = "character", second = "character"))
ox <- read.csv(file.path(ref, "oxboys.csv"), colClasses = c(Subject = "character"))
pen <- read.csv(file.path("mlm_helpers", "data", "penicillin.csv"), colClasses = "character")
pen$diameter <- as.numeric(pen$diameter)
pas <- read.csv(file.path("mlm_helpers", "data", "pastes.csv"), colClasses = "character")
pas$strength <- as.numeric(pas$strength)
chem <- read.csv(file.path(ref, "chem97_like.csv"), colClasses = c(lea = "character", gender = "character"))

specs <- list(
  list("scotssec_reml", attain ~ verbal + sex + (1 | second) + (0 + verbal | primary), scots, TRUE),
  list("scotssec_ml", attain ~ verbal + sex + (1 | second) + (0 + verbal | primary), scots, FALSE),
  list("oxboys_cubic_reml", height ~ age + I(age^2) + I(age^3) + (age + I(age^2) + I(age^3) | Subject), ox, TRUE),
  list("oxboys_quadratic_ml", height ~ age + I(age^2) + (age + I(age^2) | Subject), ox, FALSE),
  list("chem97_like_reml", score ~ gender + (gender | lea), chem, TRUE),
  list("orthodont_ml", distance ~ age * Sex + (age | Subject), orth, FALSE),
  list("exam15_sex_reml", normexam ~ standLRT + (sex | school), exam15, TRUE),
  list("penicillin_reml", diameter ~ 1 + (1 | plate) + (1 | sample), pen, TRUE),
  list("pastes_reml", strength ~ 1 + (1 | batch) + (1 | sample), pas, TRUE)
)
fit_specs(specs, ic = FALSE)

# What summary() prints for Orthodont (ML): the fit line, the scaled residuals and the
# correlation of the fixed effects.
m <- lmer(distance ~ age * Sex + (age | Subject), data = orth, REML = FALSE, control = ctrl)
add("orthodont_ml", "aic", "", "", AIC(m))
add("orthodont_ml", "bic", "", "", BIC(m))
add("orthodont_ml", "df_resid", "", "", df.residual(m))
rq <- quantile(residuals(m, type = "pearson", scaled = TRUE))
for (k in seq_along(rq)) add("orthodont_ml", "scaled_resid", c("Min", "1Q", "Median", "3Q", "Max")[k], "", rq[[k]])
cf <- cov2cor(as.matrix(vcov(m)))
for (i in rownames(cf)) for (j in colnames(cf)) add("orthodont_ml", "corr_fixef", intercept(i), intercept(j), cf[i, j])

# What lme4's default optimiser (nloptwrap) reaches on the same models: the fits above use
# bobyqa with maxfun 1e5, as every reference script.
for (s in specs[c(3:5, 7)]) {
  m <- lmer(s[[2]], data = s[[3]], REML = s[[4]])
  add(s[[1]], "loglik_default_optimizer", "", "", as.numeric(logLik(m)))
}

# Chem97-like: lme4 (default nloptwrap and bobyqa alike) stops on the boundary (theta[1] = 0);
# mlm_helpers' fast engine finds an interior optimum 1.72 log-likelihood units higher. Confirm it
# with lme4's own devfun at the fast engine's theta (printed by
# mh.fit("score ~ gender + (gender | lea), chem).optsummary.theta), and by lmer started there.
chem_theta <- c(0.10131561613701144, -0.016317226687531442, 0.2225075033008076)
fchem <- lmer(score ~ gender + (gender | lea), data = chem, REML = TRUE, devFunOnly = TRUE)
add("chem97_like_reml", "loglik_at_fast_theta", "", "", -fchem(chem_theta) / 2)
mchem <- lmer(score ~ gender + (gender | lea), data = chem, REML = TRUE, start = list(theta = chem_theta))
add("chem97_like_reml", "loglik_lmer_from_fast_theta", "", "", as.numeric(logLik(mchem)))

# (f || g) with a factor f: lme4 expands it to (1 | g) + (0 + f | g). The same model in
# mlm_helpers has the same deviance function: lme4's devfun at the fast engine's theta (from
# mh.fit("Reaction ~ Days + (f || Subject)", d).optsummary.theta) equals the fast engine's
# log-likelihood, 0.62 above what lmer's bobyqa reaches.
sleep <- read.csv(file.path("mlm_helpers", "data", "sleepstudy.csv"), colClasses = c(Subject = "character"))
sleep$f <- ifelse(sleep$Days < 3, "a", ifelse(sleep$Days < 6, "b", "c"))
fit_specs(list(list("sleep_factor_doublebar_reml", Reaction ~ Days + (f || Subject), sleep, TRUE)), ic = FALSE)
fdb <- lmer(Reaction ~ Days + (f || Subject), data = sleep, devFunOnly = TRUE)
add("sleep_factor_doublebar_reml", "loglik_at_fast_theta", "", "",
    -fdb(c(0, 0.9104027653425749, 1.2819741483570835, 1.3245941207584802, 0.7546937172578123,
           1.4339111344037525, 0)) / 2)

# lme4's profiled deviance (devfun) at given theta, and at its optimum.
theta_text <- function(nm, th) paste(sprintf("%s=%.17g", nm, th), collapse = ";")
dev_at <- function(id, formula, data, thetas) {
  for (reml in c(TRUE, FALSE)) {
    m <- lmer(formula, data = data, REML = reml, control = ctrl)
    nm <- names(getME(m, "theta"))
    f <- lmer(formula, data = data, REML = reml, devFunOnly = TRUE)
    for (th in c(thetas, list(unname(getME(m, "theta"))))) {
      add(id, "deviance", ifelse(reml, "REML", "ML"), theta_text(nm, th), f(th))
    }
  }
}
dev_at("penicillin_dev", diameter ~ 1 + (1 | plate) + (1 | sample), pen, list(c(1, 1), c(0.5, 2), c(0, 3)))
dev_at("pastes_dev", strength ~ 1 + (1 | batch) + (1 | sample), pas, list(c(1, 1), c(0.2, 4), c(2, 0)))
dev_at("scotssec_dev", attain ~ verbal + sex + (1 | second) + (0 + verbal | primary), scots,
       list(c(0.1, 0.1), c(0.001, 0.8)))
write_rows("lme4_issue17.csv")
