# A day on the board, a crew card, a timeline: "Пн, 11 марта" (the month in the genitive).
CONSOLE_DAY_FORMAT = "D, j E"
# A date with its year: statements, payments, a client's last order: "11 марта 2030".
CONSOLE_DATE_FORMAT = "j E Y"
# The board's heading: "11 марта 2030 (Пн)".
CONSOLE_LONG_DAY_FORMAT = "j E Y (D)"
