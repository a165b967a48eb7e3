# What R's read.csv reads as missing, and as which numbers, in
# tests/data/missing_markers.csv (default na.strings = "NA"; blank fields are
# missing in numeric columns). Writes tests/data/missing_markers_R.json:
# per column its class, is.na per row, and the values (numbers with 17
# significant digits, "Inf"/"-Inf"; texts as read).
# Run from the repository root:  Rscript tests/r/read_csv_missing.R
library(jsonlite)
d <- read.csv("tests/data/missing_markers.csv")
columns <- lapply(names(d), function(name) {
  x <- d[[name]]
  list(name = name, class = class(x), is_na = is.na(x),
       values = if (is.numeric(x)) ifelse(is.na(x), NA, sprintf("%.17g", x))
                else x)
})
out <- list(columns = columns, r_version = R.version.string,
            jsonlite = as.character(packageVersion("jsonlite")))
writeLines(toJSON(out, auto_unbox = TRUE, na = "null", pretty = TRUE, digits = NA),
           "tests/data/missing_markers_R.json")
