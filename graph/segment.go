package graph

import (
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/segment"
)

// segmentInput reads a segment from the API.
func segmentInput(in model.SegmentInput) segment.Input {
	return segment.Input{Name: in.Name, Description: in.Description, Filter: segmentFilter(*in.Filter)}
}

// segmentFilter reads a filter from the API; package segment checks it.
func segmentFilter(in model.SegmentFilterInput) segment.Filter {
	f := segment.Filter{TagsAll: in.TagsAll, TagsAny: in.TagsAny, TagsNone: in.TagsNone,
		NumberIDs: in.NumberIDs, InboundWithinDays: in.InboundWithinDays}
	for _, o := range in.OptIn {
		f.OptIn = append(f.OptIn, string(o))
	}
	for _, p := range in.Attributes {
		f.Attributes = append(f.Attributes, segment.AttributePredicate{Key: p.Key, Type: p.Type, Op: string(p.Op), Value: p.Value})
	}
	return f
}
