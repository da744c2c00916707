"""What workers are told, in Russian and English.

Russian is UCS-2: one segment holds 70 characters, so the texts sent to many people (offers,
"not needed") are written to fit one segment; the confirmation, which carries the address,
may take two. Times are in the franchise's local time.
"""

from messaging.texts import render_from

WORK_TYPE_NAMES = {
    "loading": {"ru": "погрузка", "en": "loading"},
    "moving": {"ru": "переезд", "en": "moving"},
    "snow_clearing": {"ru": "уборка снега", "en": "snow clearing"},
    "roofing": {"ru": "кровля", "en": "roofing"},
    "cleaning": {"ru": "уборка", "en": "cleaning"},
    "general": {"ru": "разнорабочие", "en": "general labour"},
}

TEXTS: dict[str, dict[str, str]] = {
    "offer": {
        "ru": "{code}: {work} {when}, {hours}ч, {pay}р/ч. ДА {code} / НЕТ {code}",
        "en": "Job {code}: {work} {when}, {hours}h, {pay}/h. Reply YES {code} or NO {code}",
    },
    # With the `link` reply channel: the link costs a second segment in Russian, which is
    # the price of reaching workers whose carrier delivers one-way SMS only.
    "offer_link": {
        "ru": "{code}: {work} {when}, {hours}ч, {pay}р/ч. Ответ: {link}",
        "en": "Job {code}: {work} {when}, {hours}h, {pay}/h. Answer: {link}",
    },
    "accepted": {
        "ru": "Принято {code}. Бригаду подтвердим до {by}",
        "en": "Thanks, {code} noted. Crews are confirmed by {by}.",
    },
    "declined": {
        "ru": "Понятно, {code} отклонено. Спасибо",
        "en": "OK, {code} declined. Thank you.",
    },
    "confirmed": {
        "ru": "Вы в бригаде {code}: {when}, {address}. Отказ: CANCEL {code}",
        "en": "You're on crew {code}: {when}, {address}. Can't come? CANCEL {code}",
    },
    # The standby fee is paid to a standby worker who stays ready and is never called.
    "standby": {
        "ru": "{code}: вы в резерве, ждите звонка. Не вызовем: заплатим {fee}р",
        "en": "{code}: you are standby. Not called? You still get {fee}.",
    },
    "not_needed": {
        "ru": "{code}: набор закрыт, спасибо. Ждите новых заказов",
        "en": "{code} is full, thank you. More jobs soon.",
    },
    "booked_elsewhere": {
        "ru": "{code}: вы уже в бригаде на это время, этот заказ снят. Спасибо",
        "en": "{code}: you're booked on another job at that time, so not on this one. Thanks",
    },
    "already_filled": {
        "ru": "{code}: набор уже закрыт. Спасибо, ждите новых заказов",
        "en": "{code} is already full, thank you. More jobs soon.",
    },
    "cancelled": {
        "ru": "Заказ {code} ({when}) отменён клиентом. Извините",
        "en": "Job {code} ({when}) was cancelled by the client. Sorry.",
    },
    "reminder": {
        "ru": "Напоминание {code}: {when}, {address}. Придёте? ДА {code}",
        "en": "Reminder {code}: {when}, {address}. Coming? Reply YES {code}",
    },
    "reconfirmed": {
        "ru": "Спасибо, ждём вас: {code} {when}",
        "en": "Thanks, see you: {code} {when}",
    },
    "no_open_offer": {
        "ru": "У вас нет открытых предложений. Ждите новых заказов",
        "en": "You have no open job offers right now.",
    },
    "unknown_code": {
        "ru": "Заказ {code} не найден. Проверьте код",
        "en": "We can't find job {code} for you. Check the code.",
    },
    "which_offer": {
        "ru": "Уточните заказ: {codes}. Например ДА {first}",
        "en": "Which job? {codes}. E.g. YES {first}",
    },
    "which_offer_decline": {
        "ru": "Уточните заказ: {codes}. Например НЕТ {first}",
        "en": "Which job? {codes}. E.g. NO {first}",
    },
    "withdrawn": {
        "ru": "Вы сняты с заказа {code}. Спасибо, что предупредили",
        "en": "You are off job {code}. Thanks for telling us.",
    },
    "withdrawn_late": {
        "ru": "Вы сняты с {code}. Поздний отказ снижает рейтинг",
        "en": "You are off job {code}. Late notice lowers your rating.",
    },
    "checked_in": {
        "ru": "Отметили: вы на месте, {code}. Хорошей смены!",
        "en": "Checked in on {code}. Have a good shift!",
    },
    "checked_in_late": {
        "ru": "Отметили с опозданием, {code}. Приходите вовремя",
        "en": "Checked in late on {code}. Please be on time.",
    },
    "check_in_repeat": {
        "ru": "Вы уже отмечены на {code}",
        "en": "You are already checked in on {code}.",
    },
    "check_in_too_early": {
        "ru": "Рано: отметка на {code} с {opens}",
        "en": "Too early: check-in for {code} opens at {opens}.",
    },
    "check_in_too_late": {
        "ru": "Смена {code} уже закончилась, отметка закрыта",
        "en": "Shift {code} has ended; check-in is closed.",
    },
    "not_on_crew": {
        "ru": "Вы не в бригаде {code}. Отметка не записана",
        "en": "You are not on crew {code}; nothing was recorded.",
    },
    "appeal_recorded": {
        "ru": "Жалоба по {code} принята. Рекрутер свяжется с вами",
        "en": "Appeal on {code} received. A recruiter will contact you.",
    },
    "appeal_not_possible": {
        "ru": "По {code} нет неявки для обжалования",
        "en": "There is no no-show on {code} to appeal.",
    },
    "appeal_reversed": {
        "ru": "Жалоба по {code} принята: неявка снята, рейтинг восстановлен",
        "en": "Appeal on {code} upheld: the no-show is removed from your record.",
    },
    "appeal_upheld": {
        "ru": "Жалоба по {code} отклонена: неявка остаётся",
        "en": "Appeal on {code} declined: the no-show stands.",
    },
    # A reversal that also lifts the suspension the no-show caused, and one that leaves a
    # suspension in place (set by a recruiter, or other no-shows still call for it).
    "appeal_reversed_reinstated": {
        "ru": "Жалоба по {code} принята: неявка снята, вы снова получаете заказы",
        "en": "Appeal on {code} upheld: the no-show is removed and you can take jobs again.",
    },
    "appeal_reversed_still_suspended": {
        "ru": "Жалоба по {code} принята: неявка снята. Допуск решит рекрутер",
        "en": "Appeal on {code} upheld: the no-show is removed. A recruiter will review your "
              "suspension.",
    },
    # APPEAL again after the decision: the decision, not a promise of a new review.
    "appeal_already_upheld": {
        "ru": "Жалоба по {code} уже рассмотрена: неявка остаётся",
        "en": "Your appeal on {code} was already decided: the no-show stands.",
    },
    "appeal_already_reversed": {
        "ru": "Жалоба по {code} уже рассмотрена: неявка снята",
        "en": "Your appeal on {code} was already decided: the no-show was removed.",
    },
    "appeal_window_closed": {
        "ru": "Срок жалобы по {code} истёк: {days} дн. после смены",
        "en": "The appeal window for {code} has closed: {days} days after the shift.",
    },
    "client_feedback": {
        "ru": "Оцените бригаду {code} ({when}) от 1 до 5 в ответном SMS",
        "en": "How was crew {code} ({when})? Reply with a score from 1 to 5.",
    },
    "client_thanks": {
        "ru": "Спасибо за оценку {score} бригаде {code}!",
        "en": "Thank you for scoring crew {code} {score}/5!",
    },
    # A second digit after the latest request was answered: that score stands.
    "client_already_scored": {
        "ru": "Бригада {code} уже оценена: {score}. Спасибо!",
        "en": "Crew {code} was already scored {score}/5. Thank you!",
    },
    "urgent": {
        "ru": "Срочно {code}: нужен сейчас, {address}, {pay}р/ч. Едете? ДА {code}",
        "en": "Urgent {code}: needed now at {address}, {pay}/h. Coming? YES {code}",
    },
    "urgent_booked": {
        "ru": "Ждём вас сейчас: {code}, {address}. По прибытии: ТУТ {code}",
        "en": "Come now: {code}, {address}. On arrival text HERE {code}",
    },
    # A worker beyond the headcount, not kept at the client's request, goes home: the
    # show-up fee is theirs.
    "sent_home": {
        "ru": "{code}: бригада в сборе, вы не нужны. За выход {fee}р. Спасибо",
        "en": "{code}: the crew is complete, please go home. Show-up fee: {fee}. Thanks",
    },
    "sent_home_no_fee": {
        "ru": "{code}: бригада в сборе, вы не нужны сегодня. Спасибо",
        "en": "{code}: the crew is complete, please go home. Thank you.",
    },
    "come_now": {
        "ru": "Срочно {code}: нужны вы, {when}, {address}. Едете? ДА {code}",
        "en": "Urgent {code}: you're needed {when}, {address}. Coming? YES {code}",
    },
}


def render(key: str, language: str, **values: object) -> str:
    return render_from(TEXTS, key, language, **values)


def work_name(work_type: str, language: str) -> str:
    names = WORK_TYPE_NAMES.get(work_type, {})
    return names.get(language, names.get("ru", work_type))
