package utils

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/juju/errors"
	"uo/utask"
)
const subtaskTagParentTaskID = "_utask_parent_task_id"
func ValidString(field, value string) error {
	if len(value) < utask.MinTextSize {
		return errors.BadRequestf("%s can't be shorter than %d characters", field, utask.MinTextSize)
	}
	if len(value) > utask.MaxTextSize {
		return errors.BadRequestf("%s can't be longer than %d characters", field, utask.MaxTextSize)
	}
	return nil
}
func ValidText(field, value string) error {
	if len(value) < utask.MinTextSize {
		return errors.BadRequestf("%s can't be shorter than %d characters", field, utask.MinTextSize)
	}
	if len(value) > utask.MaxTextSizeLong {
		return errors.BadRequestf("%s can't be longer than %d characters", field, utask.MaxTextSizeLong)
	}
	return nil
}
func NormalizeName(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
func ValidateTags(tags map[string]string) error {
	if tags == nil {
		return nil
	}
	for k := range tags {
		if k == subtaskTagParentTaskID {
			return errors.BadRequestf("tag name %q not allowed", k)
		}
	}
	return nil
}
func ListContainsString(list []string, item string) bool {
	for _, i := range list {
		if i == item {
			return true
		}
	}
	return false
}
func AppendUniq(list []string, items ...string) []string {
	for _, item := range items {
		shouldAdd := true
		for _, v := range list {
			if v == item {
				shouldAdd = false
				break
			}
		}

		if shouldAdd {
			list = append(list, item)
		}
	}

	return list
}
func JSONMarshal(obj interface{}) ([]byte, error) {
	b := new(bytes.Buffer)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(obj)
	if err != nil {
		return nil, err
	}

	// json.NewEncoder.Encode adds a final '\n', json.Marshal does not.
	// Let's keep the default json.Marshal behaviour.
	res := b.Bytes()
	if len(res) >= 1 && res[len(res)-1] == '\n' {
		res = res[:len(res)-1]
	}
	return res, nil
}
func JSONMarshalIndent(obj interface{}, prefix, indent string) ([]byte, error) {
	b := new(bytes.Buffer)
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, indent)
	err := enc.Encode(obj)
	if err != nil {
		return nil, err
	}

	// json.NewEncoder.Encode adds a final '\n', json.Marshal does not.
	// Let's keep the default json.Marshal behaviour.
	res := b.Bytes()
	if len(res) >= 1 && res[len(res)-1] == '\n' {
		res = res[:len(res)-1]
	}
	return res, nil
}
func HasDupsArray(elements []string) bool {
	encountered := map[string]bool{}
	for v := range elements {
		encountered[elements[v]] = true
	}

	return len(elements) != len(encountered)
}
