# Reference values for mlm_helpers.inference (issue 13): lmerTest (Satterthwaite), pbkrtest
# (Kenward-Roger), lme4's profile confint and performance::r2_nakagawa.
#
# Run from the repository root:  Rscript tests/reference/lme4_inference.R
# Needs R with lme4, lmerTest, pbkrtest, performance. Writes tests/reference/lme4_inference.csv
# in the long format (model, quantity, name1, name2, value) and prints the timings (HSB: profile
# confint and Kenward-Roger) that issue 13 asks for.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(pbkrtest); library(performance)})

rows <- list()
add <- function(id, quantity, name1 = "", name2 = "", value = NA) {
  rows[[length(rows) + 1]] <<- data.frame(model = id, quantity = quantity, name1 = name1,
                                          name2 = name2, value = value)
}
clean <- function(x) {
  x <- sub("^\\(Intercept\\)$", "Intercept", x)
  sub("^SectorPublic$", "Sector[T.Public]", x)
}
dat <- function(name, groups) {
  d <- read.csv(file.path("mlm_helpers", "data", paste0(name, ".csv")),
                colClasses = setNames(rep("character", length(groups)), groups))
  for (g in groups) d[[g]] <- factor(d[[g]])
  d
}
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))

sleep <- dat("sleepstudy", "Subject")
dye <- dat("dyestuff", "Batch")
pen <- dat("penicillin", c("plate", "sample"))
pastes <- dat("pastes", c("batch", "cask", "sample"))
hsb <- dat("hsb", "School")
schools <- dat("hsb_schools", "School")
hsb <- merge(hsb, schools[, c("School", "Sector")], by = "School", sort = FALSE)
hsb$Sector <- factor(hsb$Sector, levels = c("Catholic", "Public"))
hsb$SES_c <- hsb$SES - ave(hsb$SES, hsb$School)

# Sleepstudy with a between-subject covariate so that between-within differs from the rest.
fits <- list(
  sleep = lmer(Reaction ~ Days + (Days | Subject), sleep, control = ctrl),
  pastes = lmer(strength ~ 1 + (1 | batch) + (1 | sample), pastes, control = ctrl),
  penicillin = lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pen, control = ctrl),
  hsb = lmer(MathAch ~ SES_c + MEANSES + Sector + (1 | School), hsb, control = ctrl)
)
for (id in names(fits)) {
  m <- fits[[id]]
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    cf <- coef(summary(m, ddf = ddf))
    tag <- if (ddf == "Satterthwaite") "satt" else "kr"
    for (k in seq_len(nrow(cf))) {
      nm <- clean(rownames(cf)[k])
      add(id, paste0(tag, "_estimate"), nm, "", cf[k, "Estimate"])
      add(id, paste0(tag, "_se"), nm, "", cf[k, "Std. Error"])
      add(id, paste0(tag, "_df"), nm, "", cf[k, "df"])
      add(id, paste0(tag, "_t"), nm, "", cf[k, "t value"])
      add(id, paste0(tag, "_p"), nm, "", cf[k, "Pr(>|t|)"])
    }
  }
}
# Joint F tests of two terms at once (HSB: MEANSES and Sector; sleepstudy: intercept and Days).
joint <- list(hsb = c("MEANSES", "SectorPublic"), sleep = c("(Intercept)", "Days"))
for (id in names(joint)) {
  m <- fits[[id]]
  L <- matrix(0, 2, length(fixef(m)), dimnames = list(NULL, names(fixef(m))))
  L[1, joint[[id]][1]] <- 1
  L[2, joint[[id]][2]] <- 1
  for (ddf in c("Satterthwaite", "Kenward-Roger")) {
    tag <- if (ddf == "Satterthwaite") "satt" else "kr"
    ct <- contest(m, L, ddf = ddf)
    add(id, paste0(tag, "_F"), paste(clean(joint[[id]]), collapse = "+"), "", ct[["F value"]])
    add(id, paste0(tag, "_ddf"), paste(clean(joint[[id]]), collapse = "+"), "", ct[["DenDF"]])
    add(id, paste0(tag, "_Fp"), paste(clean(joint[[id]]), collapse = "+"), "", ct[["Pr(>F)"]])
  }
}

# Profile intervals (lme4 profiles the ML deviance), with this package's parameter names.
pnames <- function(x) {
  x <- sub("^\\.sig", "sig", x)
  x <- sub("^sd_\\(Intercept\\)\\|", "sd_Intercept|", x)
  x <- gsub("\\(Intercept\\)", "Intercept", x)
  clean(x)
}
prof <- list(
  sleep = fits$sleep,
  dyestuff = lmer(Yield ~ 1 + (1 | Batch), dye, control = ctrl),
  penicillin = fits$penicillin,
  hsb = fits$hsb
)
for (id in names(prof)) {
  ci <- confint(prof[[id]], method = "profile", oldNames = FALSE)
  for (k in seq_len(nrow(ci))) {
    add(id, "profile_lower", pnames(rownames(ci)[k]), "", ci[k, 1])
    add(id, "profile_upper", pnames(rownames(ci)[k]), "", ci[k, 2])
  }
}

# Nakagawa & Schielzeth R2 (Johnson's extension for the random slope).
for (id in c("sleep", "hsb")) {
  r2 <- r2_nakagawa(fits[[id]])
  add(id, "r2_marginal", "", "", as.numeric(r2$R2_marginal))
  add(id, "r2_conditional", "", "", as.numeric(r2$R2_conditional))
}

out <- do.call(rbind, rows)
write.csv(out, file.path("tests", "reference", "lme4_inference.csv"), row.names = FALSE)

# Timings on HSB (median of 3): profile confint and Kenward-Roger (summary with its df).
tm <- function(expr) median(replicate(3, system.time(eval(expr))[["elapsed"]]))
cat(sprintf("R timing, HSB profile confint: %.2f s\n", tm(quote(confint(fits$hsb, method = "profile")))))
cat(sprintf("R timing, HSB Kenward-Roger summary: %.2f s\n", tm(quote(coef(summary(fits$hsb, ddf = "Kenward-Roger"))))))
