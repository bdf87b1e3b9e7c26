package policy

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Redact returns the masked form of a field's value: phone numbers and
// WhatsApp ids keep their country code and last two digits
// ("+33 6•• •• •• 12" shows as "+33 •••••••12"), anything else its first
// character.
func Redact(c Coordinate, value string) string {
	if slices.Contains(PhoneFields, c) {
		return RedactPhone(value)
	}
	if value == "" {
		return ""
	}
	r, size := utf8.DecodeRuneInString(value)
	return string(r) + strings.Repeat("•", max(utf8.RuneCountInString(value[size:]), 3))
}

// RedactPhone masks a phone number ("+33612345612", or a WhatsApp id without
// the "+") down to its country code and last two digits: "+33 •••••••12".
func RedactPhone(phone string) string {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, phone)
	if len(digits) < 5 {
		return strings.Repeat("•", len(digits))
	}
	cc := countryCode(digits)
	hidden := len(digits) - len(cc) - 2
	return "+" + cc + " " + strings.Repeat("•", hidden) + digits[len(digits)-2:]
}

// countryCode returns the ITU calling code at the start of an international
// number: 1 and 7 are one digit, the codes in twoDigitCodes two, all others
// three.
func countryCode(digits string) string {
	switch digits[0] {
	case '1', '7':
		return digits[:1]
	}
	if strings.Contains(twoDigitCodes, " "+digits[:2]+" ") {
		return digits[:2]
	}
	return digits[:3]
}

const twoDigitCodes = " 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58 60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98 "
