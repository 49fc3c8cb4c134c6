"""The overview: charts where people would rather look than read, drawn with QPainter
(no chart library). `StatusBreakdown` sits above the status tabs and opens a tab;
`ActivityPanel` sits above the Activity timeline and filters it to a day."""
