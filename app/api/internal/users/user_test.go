package users

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateNameTrimsAndCountsCharacters(t *testing.T) {
	valid := map[string]string{
		"Ada":                                "Ada",
		"  Ada Lovelace \t":                  "Ada Lovelace",
		"x":                                  "x",
		strings.Repeat("é", 100):             strings.Repeat("é", 100), // 200 bytes, 100 characters
		" " + strings.Repeat("a", 100) + " ": strings.Repeat("a", 100),
		"李小龍":                                "李小龍",
	}
	for in, want := range valid {
		got, err := ValidateName(in)
		if err != nil || got != want {
			t.Errorf("ValidateName(%q) = %q, %v; want %q, nil", in, got, err, want)
		}
	}
	invalid := []string{"", "   ", "\t\n", strings.Repeat("a", 101), strings.Repeat("é", 101), "Ada\x00", "two\nlines"}
	for _, in := range invalid {
		if _, err := ValidateName(in); !isFieldError(err, "name") {
			t.Errorf("ValidateName(%q) error = %v; want a FieldError for name", in, err)
		}
	}
}

func TestValidateEmailAcceptsOnlyOnePlainAddress(t *testing.T) {
	valid := []string{"ada@example.com", "Ada.Lovelace+tag@Example.COM", "a@b", "ü@example.de", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 189)}
	for _, in := range valid {
		if err := ValidateEmail(in); err != nil {
			t.Errorf("ValidateEmail(%q) = %v; want nil", in, err)
		}
	}
	invalid := []string{
		"", "ada", "ada@", "@example.com", "ada@@example.com",
		" ada@example.com", "ada@example.com ",
		"Ada <ada@example.com>", "<ada@example.com>", "ada@example.com (Ada)",
		"ada@example.com, bob@example.com", `"ada lovelace"@example.com`,
		strings.Repeat("a", 64) + "@" + strings.Repeat("b", 190), // 255 bytes
	}
	for _, in := range invalid {
		if err := ValidateEmail(in); !isFieldError(err, "email") {
			t.Errorf("ValidateEmail(%q) error = %v; want a FieldError for email", in, err)
		}
	}
}

func TestValidIDAcceptsOnlyCanonicalVersion7UUIDs(t *testing.T) {
	valid := []string{"01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f"}
	invalid := []string{
		"", "x", "01936B2E-8F4A-7C3D-9E5F-0A1B2C3D4E5F", // upper case
		"{01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f}", "urn:uuid:01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f",
		"01936b2e8f4a7c3d9e5f0a1b2c3d4e5f",     // no hyphens
		"01936b2e-8f4a-4c3d-9e5f-0a1b2c3d4e5f", // version 4
	}
	for _, id := range valid {
		if !ValidID(id) {
			t.Errorf("ValidID(%q) = false; want true", id)
		}
	}
	for _, id := range invalid {
		if ValidID(id) {
			t.Errorf("ValidID(%q) = true; want false", id)
		}
	}
}

func TestInputAndPatchValidationReportTheFirstInvalidField(t *testing.T) {
	if _, err := (Input{Name: "", Email: "bad"}).Validate(); !isFieldError(err, "name") {
		t.Errorf("Input.Validate error = %v; want a FieldError for name", err)
	}
	if _, err := (Input{Name: "Ada", Email: "bad"}).Validate(); !isFieldError(err, "email") {
		t.Errorf("Input.Validate error = %v; want a FieldError for email", err)
	}
	bad := "bad"
	if _, err := (Patch{Email: &bad}).Validate(); !isFieldError(err, "email") {
		t.Errorf("Patch.Validate error = %v; want a FieldError for email", err)
	}
	name := "  Ada "
	p, err := Patch{Name: &name}.Validate()
	if err != nil || *p.Name != "Ada" || p.Email != nil {
		t.Errorf("Patch.Validate = %+v, %v; want the name trimmed and no email", p, err)
	}
}

// isFieldError reports whether err is a *FieldError about field.
func isFieldError(err error, field string) bool {
	var fe *FieldError
	return errors.As(err, &fe) && fe.Field == field && fe.Message != ""
}
