"""The legal inspection's report: figures from the appeal log, Excel, chart, command line."""
