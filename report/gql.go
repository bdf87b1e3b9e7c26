package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
)

// MarshalGQL writes the bucket as a GraphQL enum value.
func (b Bucket) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(b))) }

// UnmarshalGQL reads a bucket from a GraphQL enum value.
func (b *Bucket) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !slices.Contains([]Bucket{Hour, Day, Week}, Bucket(s)) {
		return fmt.Errorf("%v is not a valid ReportBucket", v)
	}
	*b = Bucket(s)
	return nil
}

// MarshalGQL writes the dimension as a GraphQL enum value.
func (d Dimension) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(d))) }

// UnmarshalGQL reads a dimension from a GraphQL enum value.
func (d *Dimension) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok || !slices.Contains([]Dimension{Tenant, Number, Team, Agent}, Dimension(s)) {
		return fmt.Errorf("%v is not a valid ReportDimension", v)
	}
	*d = Dimension(s)
	return nil
}
