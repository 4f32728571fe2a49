# Shared by the lme4_*.R reference scripts (source it from the repository root): collect the
# numbers of lme4 fits in one long format (model, quantity, name1, name2, value) and write them
# as CSV for the Python tests.
suppressPackageStartupMessages(library(lme4))

rows <- list()
add <- function(id, quantity, name1 = "", name2 = "", value = NA) {
  rows[[length(rows) + 1]] <<- data.frame(model = id, quantity = quantity, name1 = name1,
                                          name2 = name2, value = value)
}
ctrl <- lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 1e5))
intercept <- function(x) sub("^\\(Intercept\\)$", "Intercept", x)

# Fit each spec, list(id, formula, data, REML), and record what mlm_helpers reports: the
# log-likelihood, the fixed effects with their standard errors, the variance components,
# and, when asked, AIC and BIC (ic), the numbers of groups (ngroups) and the conditional
# modes (ranef).
fit_specs <- function(specs, ic = TRUE, ngroups = TRUE, ranef = FALSE) {
  for (s in specs) {
    id <- s[[1]]
    m <- lmer(s[[2]], data = s[[3]], REML = s[[4]], control = ctrl)
    add(id, "formula", paste(deparse(s[[2]]), collapse = ""), "", NA)
    add(id, "reml", "", "", as.numeric(s[[4]]))
    add(id, "loglik", "", "", as.numeric(logLik(m)))
    if (ic) {
      add(id, "aic", "", "", AIC(m))
      add(id, "bic", "", "", BIC(m))
    }
    add(id, "nobs", "", "", nobs(m))
    add(id, "singular", "", "", as.numeric(isSingular(m)))
    add(id, "sigma2", "", "", sigma(m)^2)
    cf <- coef(summary(m))
    for (k in seq_len(nrow(cf))) {
      nm <- intercept(rownames(cf)[k])
      add(id, "fixef", nm, "", cf[k, "Estimate"])
      add(id, "se", nm, "", cf[k, "Std. Error"])
    }
    vc <- as.data.frame(VarCorr(m))
    for (k in seq_len(nrow(vc))) {
      v1 <- ifelse(is.na(vc$var1[k]), "", intercept(vc$var1[k]))
      v2 <- ifelse(is.na(vc$var2[k]), "", intercept(vc$var2[k]))
      add(id, "vcov", paste(vc$grp[k], v1, sep = "|"), v2, vc$vcov[k])
      add(id, "sdcor", paste(vc$grp[k], v1, sep = "|"), v2, vc$sdcor[k])
    }
    if (ngroups) for (g in names(ngrps(m))) add(id, "ngroups", g, "", ngrps(m)[[g]])
    if (ranef) {
      re <- ranef(m)
      for (g in names(re)) {
        r <- re[[g]]
        for (lev in rownames(r)) for (v in colnames(r)) {
          add(id, "ranef", paste(g, lev, sep = "|"), intercept(v), r[lev, v])
        }
      }
    }
  }
}

# Fixed firm effects (the within estimator) by OLS with one dummy per firm, for comparison
# with the Grunfeld random-effects fits.
add_firm_fixed_effects <- function(grunfeld) {
  fe <- lm(invest ~ value + capital + firm, data = grunfeld)
  for (nm in c("value", "capital")) {
    add("grunfeld_fe_ols", "fixef", nm, "", coef(fe)[[nm]])
    add("grunfeld_fe_ols", "se", nm, "", coef(summary(fe))[nm, "Std. Error"])
  }
}

write_rows <- function(name) {
  out <- do.call(rbind, rows)
  write.csv(out, file.path("tests", "reference", name), row.names = FALSE)
  cat(sprintf("R %s, lme4 %s: wrote %d rows to %s\n", getRversion(), packageVersion("lme4"), nrow(out), name))
}
