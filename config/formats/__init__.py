"""The console's own date formats per language, beside Django's (FORMAT_MODULE_PATH).

Pages ask for them by name (`|date:"CONSOLE_DATE_FORMAT"`, `formats.get_format(...)`), so a
Russian page writes "11 марта 2030" where an English one writes "11 Mar 2030".
"""
