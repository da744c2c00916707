# A day on the board, a crew card, a timeline: "Mon 11 Mar".
CONSOLE_DAY_FORMAT = "D j M"
# A date with its year: statements, payments, a client's last order.
CONSOLE_DATE_FORMAT = "j M Y"
# The board's heading: "Mon 11 Mar 2030".
CONSOLE_LONG_DAY_FORMAT = "D j M Y"
