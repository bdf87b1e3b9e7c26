package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// The webhook bodies below are written from Meta's Cloud API webhook
// reference (v23): the business number 1122334455667 (+972 12 345 6789, WABA
// 102290129340398) and the customer 16505551234.
const (
	tblNumberID = "1122334455667"
	tblWABA     = "102290129340398"
	tblCustomer = "16505551234"
)

// tblMessages wraps messages[] (and contacts[]) in a messages webhook.
func tblMessages(contacts, messages string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"` + tblWABA + `","changes":[{"field":"messages","value":{
"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"` + tblNumberID + `"},
"contacts":[` + contacts + `],"messages":[` + messages + `]}}]}]}`
}

// tblIn is one customer message: id, its timestamp, its type and the rest of
// its fields (the type's object, context, referral, ...).
func tblIn(id string, ts int, typ, rest string) string {
	return tblMessages(`{"profile":{"name":"Kerry Fisher"},"wa_id":"`+tblCustomer+`"}`,
		fmt.Sprintf(`{"from":%q,"id":%q,"timestamp":"%d","type":%q,%s}`, tblCustomer, id, 1750000000+ts, typ, rest))
}

// tblChange is another field's change with value.
func tblChange(field, value string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"` + tblWABA + `","time":1750009999,"changes":[{"field":"` + field + `","value":` + value + `}]}]}`
}

func tblStatuses(statuses string) string {
	return tblChange("messages", `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"`+tblNumberID+`"},"statuses":[`+statuses+`]}`)
}

func tblGroup(field, event string) string {
	return tblChange(field, `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"`+tblNumberID+`"},"groups":[`+event+`]}`)
}

// groupQ reads the group the Groups API rows follow (Y2FwaV9ncm91cDoy).
const groupQ = `{ groups(where: {providerGroupID: "Y2FwaV9ncm91cDoy"}) { edges { node { subject description state stateReason inviteLink joinApproval
 members { totalCount } joinRequests(orderBy: {field: CREATED_AT}) { edges { node { waID status } } } } } } }`

// msgQ reads the message wamid with fields; msgW is its expected answer.
func msgQ(wamid, fields string) string {
	return `{ messages(where: {providerMessageID: "` + wamid + `"}) { edges { node { ` + fields + ` } } } }`
}

func msgW(node string) string { return `{"messages":{"edges":[{"node":` + node + `}]}}` }

const contentQ = `content { __typename
 ... on LocationContent { latitude longitude name address url }
 ... on ContactsContent { contacts { formattedName firstName lastName organization emails phones { phone waID type } } }
 ... on InteractiveReplyContent { type replyID title description flowName flowResponseJSON }
 ... on ButtonReplyContent { payload text }
 ... on OrderContent { catalogID text items { productRetailerID quantity itemPrice currency } }
 ... on UnsupportedContent { errors { code title message details } } }`

// webhookTable is what each body must show through the API.
var webhookTable = []struct {
	name, body, query, want string
}{
	{"text", tblIn("wamid.t1", 1, "text", `"text":{"body":"Hello, is my order ready?"}`),
		msgQ("wamid.t1", "kind direction status body replyTo { id } content { __typename } referral { headline }"),
		msgW(`{"kind":"TEXT","direction":"INBOUND","status":"RECEIVED","body":"Hello, is my order ready?","replyTo":null,"content":null,"referral":null}`)},
	{"text replying", tblIn("wamid.t2", 2, "text", `"text":{"body":"this one"},"context":{"from":"`+tblCustomer+`","id":"wamid.t1"}`),
		msgQ("wamid.t2", "body replyTo { providerMessageID }"),
		msgW(`{"body":"this one","replyTo":{"providerMessageID":"wamid.t1"}}`)},
	{"text forwarded", tblIn("wamid.t3", 3, "text", `"text":{"body":"fwd"},"context":{"forwarded":true}`),
		msgQ("wamid.t3", "kind body"), msgW(`{"kind":"TEXT","body":"fwd"}`)},
	{"image", tblIn("wamid.i1", 4, "image", `"image":{"caption":"the receipt","mime_type":"image/jpeg","sha256":"abc=","id":"1479537139650973"}`),
		msgQ("wamid.i1", "kind body media { id mimeType sha256 }"),
		msgW(`{"kind":"IMAGE","body":"the receipt","media":{"id":"1479537139650973","mimeType":"image/jpeg","sha256":"abc="}}`)},
	{"video", tblIn("wamid.v1", 5, "video", `"video":{"mime_type":"video/mp4","sha256":"v=","id":"2000"}`),
		msgQ("wamid.v1", "kind media { id mimeType }"), msgW(`{"kind":"VIDEO","media":{"id":"2000","mimeType":"video/mp4"}}`)},
	{"voice note", tblIn("wamid.a1", 6, "audio", `"audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"a=","id":"3000","voice":true}`),
		msgQ("wamid.a1", "kind media { id }"), msgW(`{"kind":"AUDIO","media":{"id":"3000"}}`)},
	{"document", tblIn("wamid.d1", 7, "document", `"document":{"caption":"invoice","filename":"inv-42.pdf","mime_type":"application/pdf","sha256":"d=","id":"4000"}`),
		msgQ("wamid.d1", "kind body media { filename }"), msgW(`{"kind":"DOCUMENT","body":"invoice","media":{"filename":"inv-42.pdf"}}`)},
	{"sticker", tblIn("wamid.s1", 8, "sticker", `"sticker":{"mime_type":"image/webp","sha256":"s=","id":"5000","animated":true}`),
		msgQ("wamid.s1", "kind media { id }"), msgW(`{"kind":"STICKER","media":{"id":"5000"}}`)},
	{"location pin", tblIn("wamid.l1", 9, "location", `"location":{"latitude":37.4842,"longitude":-122.1484}`),
		msgQ("wamid.l1", "kind "+contentQ),
		msgW(`{"kind":"LOCATION","content":{"__typename":"LocationContent","latitude":37.4842,"longitude":-122.1484,"name":null,"address":null,"url":null}}`)},
	{"location place", tblIn("wamid.l2", 10, "location", `"location":{"latitude":37.48,"longitude":-122.14,"name":"Main Street Beach","address":"5 Main Street, Santa Cruz, CA","url":"https://example.com/beach"}`),
		msgQ("wamid.l2", contentQ),
		msgW(`{"content":{"__typename":"LocationContent","latitude":37.48,"longitude":-122.14,"name":"Main Street Beach","address":"5 Main Street, Santa Cruz, CA","url":"https://example.com/beach"}}`)},
	{"contact card", tblIn("wamid.c1", 11, "contacts", `"contacts":[{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara","last_name":"Johnson"},
"org":{"company":"Social Tsunami","title":"Manager"},"emails":[{"email":"bjohnson@example.com","type":"WORK"}],
"phones":[{"phone":"+1 (940) 555-1234","type":"HOME"},{"phone":"+1 (650) 555-1234","wa_id":"16505551234","type":"WORK"}]}]`),
		msgQ("wamid.c1", "kind body "+contentQ),
		msgW(`{"kind":"CONTACTS","body":"Barbara J. Johnson","content":{"__typename":"ContactsContent","contacts":[{"formattedName":"Barbara J. Johnson","firstName":"Barbara","lastName":"Johnson","organization":"Social Tsunami","emails":["bjohnson@example.com"],
"phones":[{"phone":"+1 (940) 555-1234","waID":null,"type":"HOME"},{"phone":"+1 (650) 555-1234","waID":"16505551234","type":"WORK"}]}]}}`)},
	{"interactive button reply", tblIn("wamid.ib", 12, "interactive", `"interactive":{"type":"button_reply","button_reply":{"id":"confirm-42","title":"Confirm"}},"context":{"from":"972123456789","id":"wamid.out9"}`),
		msgQ("wamid.ib", "kind body "+contentQ),
		msgW(`{"kind":"INTERACTIVE","body":"Confirm","content":{"__typename":"InteractiveReplyContent","type":"button_reply","replyID":"confirm-42","title":"Confirm","description":null,"flowName":null,"flowResponseJSON":null}}`)},
	{"interactive list reply", tblIn("wamid.il", 13, "interactive", `"interactive":{"type":"list_reply","list_reply":{"id":"slot-9","title":"9:00","description":"Tuesday morning"}}`),
		msgQ("wamid.il", contentQ),
		msgW(`{"content":{"__typename":"InteractiveReplyContent","type":"list_reply","replyID":"slot-9","title":"9:00","description":"Tuesday morning","flowName":null,"flowResponseJSON":null}}`)},
	{"flow reply", tblIn("wamid.if", 14, "interactive", `"interactive":{"type":"nfm_reply","nfm_reply":{"name":"flow","body":"Sent","response_json":"{\"flow_token\":\"t\",\"size\":\"M\"}"}}`),
		msgQ("wamid.if", contentQ),
		msgW(`{"content":{"__typename":"InteractiveReplyContent","type":"nfm_reply","replyID":null,"title":null,"description":null,"flowName":"flow","flowResponseJSON":"{\"flow_token\":\"t\",\"size\":\"M\"}"}}`)},
	{"template button", tblIn("wamid.bt", 15, "button", `"button":{"payload":"STOP_PROMOS","text":"Stop promotions"},"context":{"from":"972123456789","id":"wamid.tpl"}`),
		msgQ("wamid.bt", "kind body "+contentQ),
		msgW(`{"kind":"INTERACTIVE","body":"Stop promotions","content":{"__typename":"ButtonReplyContent","payload":"STOP_PROMOS","text":"Stop promotions"}}`)},
	{"reaction", tblIn("wamid.r1", 16, "reaction", `"reaction":{"message_id":"wamid.t1","emoji":"\ud83d\udc4d"}`),
		`{ m: messages(where: {providerMessageID: "wamid.t1"}) { edges { node { reactions { body } } } }
		   r: messages(where: {providerMessageID: "wamid.r1"}) { edges { node { kind reactionTo { providerMessageID } } } } }`,
		`{"m":{"edges":[{"node":{"reactions":[{"body":"\ud83d\udc4d"}]}}]},"r":{"edges":[{"node":{"kind":"REACTION","reactionTo":{"providerMessageID":"wamid.t1"}}}]}}`},
	{"reaction removed", tblIn("wamid.r2", 17, "reaction", `"reaction":{"message_id":"wamid.t1","emoji":""}`),
		msgQ("wamid.t1", "reactions { body }"), msgW(`{"reactions":[]}`)},
	{"order", tblIn("wamid.o1", 18, "order", `"order":{"catalog_id":"cat-7","text":"for Friday","product_items":[{"product_retailer_id":"SKU-1","quantity":2,"item_price":9.5,"currency":"EUR"},{"product_retailer_id":"SKU-2","quantity":1,"item_price":30,"currency":"EUR"}]}`),
		msgQ("wamid.o1", "kind body "+contentQ),
		msgW(`{"kind":"ORDER","body":"for Friday","content":{"__typename":"OrderContent","catalogID":"cat-7","text":"for Friday","items":[{"productRetailerID":"SKU-1","quantity":2,"itemPrice":9.5,"currency":"EUR"},{"productRetailerID":"SKU-2","quantity":1,"itemPrice":30,"currency":"EUR"}]}}`)},
	{"system: changed number", tblIn("wamid.sy", 19, "system", `"system":{"body":"Kerry changed their phone number to a new number","wa_id":"16505550000","type":"user_changed_number"}`),
		msgQ("wamid.sy", "kind body"), msgW(`{"kind":"SYSTEM","body":"Kerry changed their phone number to a new number"}`)},
	{"unsupported", tblIn("wamid.u1", 20, "unsupported", `"errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}],"unsupported":{"type":"poll"}`),
		msgQ("wamid.u1", "kind "+contentQ),
		msgW(`{"kind":"UNSUPPORTED","content":{"__typename":"UnsupportedContent","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","details":"Message type is currently not supported."}]}}`)},
	{"click-to-WhatsApp referral", tblIn("wamid.ref", 21, "text", `"text":{"body":"I saw your ad"},"referral":{"source_url":"https://fb.me/abc","source_id":"120200","source_type":"ad","headline":"Summer sale","body":"-20% on everything","media_type":"image","image_url":"https://example.com/ad.jpg","ctwa_clid":"ARAkLkA8rmlFeiCktEJQ"}`),
		msgQ("wamid.ref", "body referral { sourceURL sourceID sourceType headline body mediaType imageURL ctwaClid }"),
		msgW(`{"body":"I saw your ad","referral":{"sourceURL":"https://fb.me/abc","sourceID":"120200","sourceType":"ad","headline":"Summer sale","body":"-20% on everything","mediaType":"image","imageURL":"https://example.com/ad.jpg","ctwaClid":"ARAkLkA8rmlFeiCktEJQ"}}`)},
	{"referred product", tblIn("wamid.rp", 22, "text", `"text":{"body":"Is this in stock?"},"context":{"from":"972123456789","id":"wamid.catalog","referred_product":{"catalog_id":"cat-7","product_retailer_id":"SKU-1"}}`),
		msgQ("wamid.rp", "body referredProduct { catalogID productRetailerID }"),
		msgW(`{"body":"Is this in stock?","referredProduct":{"catalogID":"cat-7","productRetailerID":"SKU-1"}}`)},
	{"edit", tblIn("wamid.e1", 23, "edit", `"edit":{"original_message_id":"wamid.t3","message":{"type":"text","text":{"body":"fwd (edited)"}}}`),
		msgQ("wamid.t3", "body"), msgW(`{"body":"fwd (edited)"}`)},
	{"revoke", tblIn("wamid.x1", 24, "revoke", `"revoke":{"original_message_id":"wamid.t2"}`),
		`{ messages(where: {providerMessageID: "wamid.t2", deletedAtNotNil: true}) { totalCount } }`, `{"messages":{"totalCount":1}}`},
	{"message from a second customer", tblMessages(`{"profile":{"name":"Pablo"},"wa_id":"34600111222"}`, `{"from":"34600111222","id":"wamid.p1","timestamp":"1750000025","type":"text","text":{"body":"Hola"}}`),
		`{ conversations(where: {hasContactWith: {profileName: "Pablo"}}) { totalCount edges { node { unreadCount lastMessage { body } contact { profileName } } } } }`,
		`{"conversations":{"totalCount":1,"edges":[{"node":{"unreadCount":1,"lastMessage":{"body":"Hola"},"contact":{"profileName":"Pablo"}}}]}}`},
	{"phone and business-scoped id", tblMessages(`{"profile":{"name":"Dana"},"wa_id":"447700900123","user_id":"GB.1234567890123456"}`, `{"from":"447700900123","from_user_id":"GB.1234567890123456","id":"wamid.b1","timestamp":"1750000026","type":"text","text":{"body":"hi from Dana"}}`),
		msgQ("wamid.b1", "kind body conversation { contact { profileName waID phone userID } }"),
		msgW(`{"kind":"TEXT","body":"hi from Dana","conversation":{"contact":{"profileName":"Dana","waID":"447700900123","phone":"+447700900123","userID":"GB.1234567890123456"}}}`)},
	{"business-scoped id only", tblMessages(`{"profile":{"name":"Sam","username":"@sam.codes"},"user_id":"US.13491208655302741918"}`, `{"from_user_id":"US.13491208655302741918","id":"wamid.b2","timestamp":"1750000026","type":"text","text":{"body":"no phone here"}}`),
		msgQ("wamid.b2", "kind body conversation { contact { profileName phone waID userID username } }"),
		msgW(`{"kind":"TEXT","body":"no phone here","conversation":{"contact":{"profileName":"Sam","phone":"","waID":"US.13491208655302741918","userID":"US.13491208655302741918","username":"@sam.codes"}}}`)},
	{"business-scoped id, then with the phone: one contact", tblMessages(`{"profile":{"name":"Sam","username":"@sam.codes"},"wa_id":"15551230000","user_id":"US.13491208655302741918"}`, `{"from":"15551230000","from_user_id":"US.13491208655302741918","id":"wamid.b3","timestamp":"1750000026","type":"text","text":{"body":"phone shared now"}}`),
		`{ contacts(where: {userID: "US.13491208655302741918"}) { totalCount edges { node { waID phone username conversations { totalCount } } } } }`,
		`{"contacts":{"totalCount":1,"edges":[{"node":{"waID":"15551230000","phone":"+15551230000","username":"@sam.codes","conversations":{"totalCount":1}}}]}}`},
	{"echo from the phone app", tblChange("smb_message_echoes", `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"`+tblNumberID+`"},
"message_echoes":[{"from":"972123456789","to":"`+tblCustomer+`","id":"wamid.echo1","timestamp":"1750000027","type":"text","text":{"body":"Sent from the app"}}]}`),
		msgQ("wamid.echo1", "kind direction status body"), msgW(`{"kind":"TEXT","direction":"OUTBOUND","status":"SENT","body":"Sent from the app"}`)},
	{"history (coexistence)", tblChange("history", `{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"`+tblNumberID+`"},
"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[{"id":"`+tblCustomer+`","messages":[
{"from":"972123456789","to":"`+tblCustomer+`","id":"wamid.hist1","timestamp":"1740000060","type":"text","text":{"body":"Back in stock next week"},"history_context":{"status":"DELIVERED"}}]}]}]}`),
		msgQ("wamid.hist1", "kind direction status body"), msgW(`{"kind":"TEXT","direction":"OUTBOUND","status":"DELIVERED","body":"Back in stock next week"}`)},
	{"status sent with pricing", tblStatuses(`{"id":"wamid.out1","status":"sent","timestamp":"1750000100","recipient_id":"` + tblCustomer + `",
"conversation":{"id":"c1","origin":{"type":"service"}},"pricing":{"billable":false,"pricing_model":"PMP","category":"service","type":"free_customer_service"}}`),
		msgQ("wamid.out1", "status errorCode pricing { category model type billable pricedAt }"),
		msgW(`{"status":"SENT","errorCode":null,"pricing":{"category":"service","model":"PMP","type":"free_customer_service","billable":false,"pricedAt":"2025-06-15T15:08:20Z"}}`)},
	{"status delivered", tblStatuses(`{"id":"wamid.out1","status":"delivered","timestamp":"1750000101","recipient_id":"` + tblCustomer + `"}`),
		msgQ("wamid.out1", "status"), msgW(`{"status":"DELIVERED"}`)},
	{"status read", tblStatuses(`{"id":"wamid.out1","status":"read","timestamp":"1750000102","recipient_id":"` + tblCustomer + `"}`),
		msgQ("wamid.out1", "status"), msgW(`{"status":"READ"}`)},
	{"status delivered after read", tblStatuses(`{"id":"wamid.out1","status":"delivered","timestamp":"1750000103","recipient_id":"` + tblCustomer + `","pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}}`),
		msgQ("wamid.out1", "status pricing { category billable }"), msgW(`{"status":"READ","pricing":{"category":"service","billable":false}}`)},
	{"status failed", tblStatuses(`{"id":"wamid.out2","status":"failed","timestamp":"1750000104","recipient_id":"` + tblCustomer + `",
"errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed."}}]}`),
		msgQ("wamid.out2", "status errorCode errorText"),
		msgW(`{"status":"FAILED","errorCode":131047,"errorText":"Re-engagement message: Message failed to send because more than 24 hours have passed."}`)},
	{"status sent without pricing", tblStatuses(`{"id":"wamid.out3","status":"sent","timestamp":"1750000105","recipient_id":"` + tblCustomer + `"}`),
		msgQ("wamid.out3", "status pricing { category }"), msgW(`{"status":"SENT","pricing":null}`)},
	// (the seed conversation's customer moved to 16505550000 with "system: changed number")
	{"status naming the recipient's business-scoped id", tblStatuses(`{"id":"wamid.out3","status":"delivered","timestamp":"1750000106","recipient_id":"16505550000","recipient_user_id":"US.1000000000000001"}`),
		`{ contacts(where: {userID: "US.1000000000000001"}) { edges { node { waID userID } } } }`,
		`{"contacts":{"edges":[{"node":{"waID":"16505550000","userID":"US.1000000000000001"}}]}}`},
	{"statuses batched", tblStatuses(`{"id":"wamid.out4","status":"sent","timestamp":"1750000106","recipient_id":"` + tblCustomer + `"},{"id":"wamid.out4","status":"delivered","timestamp":"1750000107","recipient_id":"` + tblCustomer + `"}`),
		msgQ("wamid.out4", "status"), msgW(`{"status":"DELIVERED"}`)},
	{"status before its message", tblStatuses(`{"id":"wamid.notyet","status":"delivered","timestamp":"1750000108","recipient_id":"` + tblCustomer + `"}`),
		`{ inboundDeliveries(first: 1) { state attempts phoneNumberIDs } }`, `{"inboundDeliveries":[{"state":"RECEIVED","attempts":1,"phoneNumberIDs":["` + tblNumberID + `"]}]}`},
	{"account restricted", tblChange("account_update", `{"phone_number":"972123456789","event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":1750900000}]}`),
		`{ numbers { edges { node { status } } } }`, `{"numbers":{"edges":[{"node":{"status":"RESTRICTED"}}]}}`},
	{"account reinstated", tblChange("account_update", `{"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"REINSTATE","waba_ban_date":"2026-11-01"}}`),
		`{ numbers { edges { node { status } } } }`, `{"numbers":{"edges":[{"node":{"status":"CONNECTED"}}]}}`},
	{"quality flagged", tblChange("phone_number_quality_update", `{"display_phone_number":"972123456789","event":"FLAGGED","current_limit":"TIER_1K"}`),
		`{ numbers { edges { node { quality messagingTier } } } }`, `{"numbers":{"edges":[{"node":{"quality":"RED","messagingTier":"TIER_1K"}}]}}`},
	{"quality unflagged", tblChange("phone_number_quality_update", `{"display_phone_number":"972123456789","event":"UNFLAGGED","current_limit":"TIER_10K"}`),
		`{ numbers { edges { node { quality messagingTier } } } }`, `{"numbers":{"edges":[{"node":{"quality":"GREEN","messagingTier":"TIER_10K"}}]}}`},
	{"group created", tblGroup("group_lifecycle_update", `{"timestamp":"1750000200","group_id":"Y2FwaV9ncm91cDox","type":"group_create","request_id":"req-create","subject":"Launch team","invite_link":"https://chat.whatsapp.com/abc"}`),
		`{ groupWebhookEvents(where: {groupID: "Y2FwaV9ncm91cDox", field: "group_lifecycle_update"}) { totalCount edges { node { field type groupID requestID } } } }`,
		`{"groupWebhookEvents":{"totalCount":1,"edges":[{"node":{"field":"group_lifecycle_update","type":"group_create","groupID":"Y2FwaV9ncm91cDox","requestID":"req-create"}}]}}`},
	{"group participant joined", tblGroup("group_participants_update", `{"timestamp":"1750000201","group_id":"Y2FwaV9ncm91cDox","type":"group_participants_add","reason":"invite_link","added_participants":[{"input":"16505551234","wa_id":"16505551234"}]}`),
		`{ groupWebhookEvents(where: {field: "group_participants_update"}) { totalCount edges { node { type groupID } } } }`,
		`{"groupWebhookEvents":{"totalCount":1,"edges":[{"node":{"type":"group_participants_add","groupID":"Y2FwaV9ncm91cDox"}}]}}`},
	{"group settings", tblGroup("group_settings_update", `{"timestamp":"1750000202","group_id":"Y2FwaV9ncm91cDox","type":"group_settings_update","request_id":"req-set","group_subject":{"text":"Launch","update_successful":true}}`),
		`{ groupWebhookEvents(where: {field: "group_settings_update"}) { totalCount edges { node { requestID } } } }`,
		`{"groupWebhookEvents":{"totalCount":1,"edges":[{"node":{"requestID":"req-set"}}]}}`},
	{"group status", tblGroup("group_status_update", `{"timestamp":"1750000203","group_id":"Y2FwaV9ncm91cDox","type":"group_suspend"}`),
		`{ groupWebhookEvents(where: {field: "group_status_update"}) { totalCount edges { node { type } } } }`,
		`{"groupWebhookEvents":{"totalCount":1,"edges":[{"node":{"type":"group_suspend"}}]}}`},
	{"group create succeeded (Meta: Group create succeed)", tblGroup("group_lifecycle_update", `{"timestamp":"1750000401","group_id":"Y2FwaV9ncm91cDoy","type":"group_create","request_id":"req-ok","subject":"Purchase inquiry","description":"New car options","invite_link":"https://chat.whatsapp.com/Inv1te","join_approval_mode":"approval_required"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[]}}}]}}`},
	{"join request created (Meta: User accepts or cancels join request)", tblGroup("group_participants_update", `{"timestamp":"1750000402","group_id":"Y2FwaV9ncm91cDoy","type":"group_join_request_created","join_request_id":"jr-1","wa_id":"16505550001"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"PENDING"}}]}}}]}}`},
	{"join request revoked (Meta: User accepts or cancels join request, cancelled)", tblGroup("group_participants_update", `{"timestamp":"1750000403","group_id":"Y2FwaV9ncm91cDoy","type":"group_join_request_revoked","join_request_id":"jr-1","wa_id":"16505550001"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}}]}}}]}}`},
	{"join request again", tblGroup("group_participants_update", `{"timestamp":"1750000404","group_id":"Y2FwaV9ncm91cDoy","type":"group_join_request_created","join_request_id":"jr-2","wa_id":"16505550001"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"PENDING"}}]}}}]}}`},
	{"join request approved (Meta: Join request approved)", tblGroup("group_participants_update", `{"timestamp":"1750000405","group_id":"Y2FwaV9ncm91cDoy","type":"group_participants_add","reason":"join_request","added_participants":[{"input":"16505550001","wa_id":"16505550001"}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":1},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"user joined by invite link (Meta: User joined group using invite link succeed)", tblGroup("group_participants_update", `{"timestamp":"1750000406","group_id":"Y2FwaV9ncm91cDoy","type":"group_participants_add","reason":"invite_link","added_participants":[{"input":"16505550002","wa_id":"16505550002"}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":2},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"participants removed (Meta: Group participant remove succeed)", tblGroup("group_participants_update", `{"timestamp":"1750000407","group_id":"Y2FwaV9ncm91cDoy","type":"group_participants_remove","request_id":"req-rm","initiated_by":"business","removed_participants":[{"input":"16505550002","wa_id":"16505550002"}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":1},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"remove partially failed (Meta: Group participant remove with participants partially fails)", tblGroup("group_participants_update", `{"timestamp":"1750000408","group_id":"Y2FwaV9ncm91cDoy","type":"group_participants_remove","request_id":"req-rm2","initiated_by":"business","removed_participants":[],"failed_participants":[{"input":"16505559999"}],"errors":[{"code":131203,"title":"Participant not in group","message":"Participant not in group","error_data":{"details":"16505559999 is not a participant"}}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"remove: Participant not in group (16505559999 is not a participant)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":1},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"remove failed (Meta: Group participant remove fails)", tblGroup("group_participants_update", `{"timestamp":"1750000409","group_id":"Y2FwaV9ncm91cDoy","type":"group_participants_remove","request_id":"req-rm3","initiated_by":"business","errors":[{"code":131000,"title":"Something went wrong","message":"Something went wrong","error_data":{"details":"remove failed"}}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"remove: Something went wrong (remove failed)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":1},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"participant left (Meta: Group participant leaves webhook)", tblGroup("group_participants_update", `{"timestamp":"1750000410","group_id":"Y2FwaV9ncm91cDoy","type":"group_participants_remove","initiated_by":"participant","removed_participants":[{"wa_id":"16505550001"}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry","description":"New car options","state":"ACTIVE","stateReason":"remove: Something went wrong (remove failed)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"settings updated (Meta: Group settings update succeed)", tblGroup("group_settings_update", `{"timestamp":"1750000411","group_id":"Y2FwaV9ncm91cDoy","type":"group_settings_update","request_id":"req-s1","group_subject":{"text":"Purchase inquiry 2026","update_successful":true},"group_description":{"text":"Options for 2026","update_successful":true}}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchase inquiry 2026","description":"Options for 2026","state":"ACTIVE","stateReason":"remove: Something went wrong (remove failed)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"settings partially failed (Meta: Group settings update partial fail)", tblGroup("group_settings_update", `{"timestamp":"1750000412","group_id":"Y2FwaV9ncm91cDoy","type":"group_settings_update","request_id":"req-s2","group_subject":{"text":"Purchases","update_successful":true},"group_description":{"text":"x","update_successful":false,"errors":[{"code":131009,"title":"Parameter value is not valid","message":"Parameter value is not valid","error_data":{"details":"description too long"}}]}}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchases","description":"Options for 2026","state":"ACTIVE","stateReason":"settings: description: Parameter value is not valid (description too long)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"settings failed (Meta: Group settings update total fail)", tblGroup("group_settings_update", `{"timestamp":"1750000413","group_id":"Y2FwaV9ncm91cDoy","type":"group_settings_update","request_id":"req-s3","group_subject":{"text":"","update_successful":false,"errors":[{"code":131009,"title":"Parameter value is not valid","message":"Parameter value is not valid","error_data":{"details":"invalid subject"}}]},"profile_picture":{"mime_type":"image/jpeg","sha256":"abc","update_successful":false,"errors":[{"code":131052,"title":"Media download error","message":"Media download error","error_data":{"details":"photo unreadable"}}]}}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchases","description":"Options for 2026","state":"ACTIVE","stateReason":"settings: subject: Parameter value is not valid (invalid subject); photo: Media download error (photo unreadable)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"group suspended (Meta: group_status_update)", tblGroup("group_status_update", `{"timestamp":"1750000414","group_id":"Y2FwaV9ncm91cDoy","type":"group_suspend"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchases","description":"Options for 2026","state":"SUSPENDED","stateReason":"suspended by WhatsApp","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"suspension cleared (Meta: group_status_update)", tblGroup("group_status_update", `{"timestamp":"1750000415","group_id":"Y2FwaV9ncm91cDoy","type":"group_suspend_cleared"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchases","description":"Options for 2026","state":"ACTIVE","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"group delete failed (Meta: Delete group fails)", tblGroup("group_lifecycle_update", `{"timestamp":"1750000416","group_id":"Y2FwaV9ncm91cDoy","type":"group_delete","request_id":"req-d1","errors":[{"code":131000,"title":"Something went wrong","message":"Something went wrong","error_data":{"details":"delete failed"}}]}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchases","description":"Options for 2026","state":"ACTIVE","stateReason":"delete: Something went wrong (delete failed)","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"group deleted (Meta: Delete group succeed)", tblGroup("group_lifecycle_update", `{"timestamp":"1750000417","group_id":"Y2FwaV9ncm91cDoy","type":"group_delete","request_id":"req-d2"}`),
		groupQ, `{"groups":{"edges":[{"node":{"subject":"Purchases","description":"Options for 2026","state":"DELETED","stateReason":"","inviteLink":"https://chat.whatsapp.com/Inv1te","joinApproval":true,"members":{"totalCount":0},"joinRequests":{"edges":[{"node":{"waID":"16505550001","status":"CANCELLED"}},{"node":{"waID":"16505550001","status":"APPROVED"}}]}}}]}}`},
	{"group create failed (Meta: Group create fail)", tblGroup("group_lifecycle_update", `{"timestamp":"1750000418","type":"group_create","subject":"Refused","description":"d","request_id":"req-fail","group_id":"Y2FwaV9ncm91cDoz","errors":[{"code":131200,"title":"Group creation failed","message":"Group creation failed","error_data":{"details":"subject not allowed"}}]}`),
		`{ groups(where: {subject: "Refused"}) { edges { node { state stateReason providerGroupID } } } }`,
		`{"groups":{"edges":[{"node":{"state":"FAILED","stateReason":"create: Group creation failed (subject not allowed)","providerGroupID":null}}]}}`},
	{"one bad item beside a good one", tblMessages(`{"profile":{"name":"Kerry Fisher"},"wa_id":"`+tblCustomer+`"}`,
		`{"from":"`+tblCustomer+`","id":"wamid.bad","timestamp":"soon","type":"text","text":{"body":"odd"}},{"from":"`+tblCustomer+`","id":"wamid.good","timestamp":"1750000300","type":"text","text":{"body":"fine"}}`),
		`{ inboundDeliveries(first: 1) { state error } good: messages(where: {providerMessageID: "wamid.good"}) { totalCount } bad: messages(where: {providerMessageID: "wamid.bad"}) { totalCount } }`,
		`{"inboundDeliveries":[{"state":"PROCESSED","error":"1 item(s) left out: entry 0, change 0 (messages), message 0 (wamid.bad): timestamp \"soon\" is not unix seconds"}],"good":{"totalCount":1},"bad":{"totalCount":0}}`},
	{"unknown field", tblChange("business_capability_update", `{"max_daily_conversation_per_phone":1000,"max_phone_numbers_per_business":2}`),
		`{ numbers { edges { node { status quality } } } }`, `{"numbers":{"edges":[{"node":{"status":"CONNECTED","quality":"GREEN"}}]}}`},
	{"template status", tblChange("message_template_status_update", `{"event":"APPROVED","message_template_id":12345678,"message_template_name":"order_ready","message_template_language":"en_US","reason":"NONE"}`),
		`{ numbers { edges { node { status } } } }`, `{"numbers":{"edges":[{"node":{"status":"CONNECTED"}}]}}`},
}

// Every body of webhookTable, posted through the signed endpoint and
// ingested, shows through the API as the table says, field by field; posted
// a second time it changes nothing (must-show 2 of issue 10).
func TestWebhookTable(t *testing.T) {
	t.Parallel()
	require.GreaterOrEqual(t, len(webhookTable), 40)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{}, graphtest.WithConfig(func(c *app.Config) { c.WhatsAppAppSecret = []byte(simSecret) }))
		hook := s.App.WhatsApp.Webhook
		hook.Eager = 0 // processed below, in order
		tenantID, owner := s.Tenant(t, "table")
		s.Do(t, owner, `mutation($p: String!, $w: String!) { linkNumber(input: {phone: "+972123456789", displayName: "Main", phoneNumberID: $p, wabaID: $w}) { id } }`,
			map[string]any{"p": tblNumberID, "w": tblWABA}).RequireOK(t)
		ctx := viewer.System(t.Context(), tenantID)
		pctx := viewer.Platform(t.Context())
		num, err := db.Client.Number.Query().Only(ctx)
		require.NoError(t, err)
		// verified as if its token had been proven: no provider in this test
		require.NoError(t, db.Client.Number.UpdateOne(num).SetStatus("CONNECTED").SetVerifiedAt(time.Now()).Exec(ctx))
		// Groups asked for at the provider, whose outcome the group rows bring.
		require.NoError(t, db.Client.Group.Create().SetNumberID(num.ID).SetSubject("Purchase inquiry").SetState("CREATING").
			SetCreateRequestID("req-ok").Exec(ctx))
		require.NoError(t, db.Client.Group.Create().SetNumberID(num.ID).SetSubject("Refused").SetState("CREATING").
			SetCreateRequestID("req-fail").Exec(ctx))

		post := func(t *testing.T, body string) {
			t.Helper()
			req := httptest.NewRequest(http.MethodPost, "/webhooks/whatsapp", bytes.NewReader([]byte(body)))
			req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign([]byte(simSecret), []byte(body)))
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			d, err := db.Client.WebhookDelivery.Query().Order(ent.Desc(webhookdelivery.FieldID)).First(pctx)
			require.NoError(t, err)
			if err := hook.Ingester.Process(t.Context(), d.ID); err != nil {
				require.ErrorContains(t, err, "status for a message not yet recorded")
			}
		}
		// The business's own sends, which statuses name.
		post(t, tblIn("wamid.seed", 0, "text", `"text":{"body":"seed"}`))
		c, err := db.Client.Contact.Query().Where(contact.WaID(tblCustomer)).Only(ctx)
		require.NoError(t, err)
		conv, err := db.Client.Conversation.Query().Where(conversation.ContactID(c.ID)).Only(ctx)
		require.NoError(t, err)
		for _, id := range []string{"wamid.out1", "wamid.out2", "wamid.out3", "wamid.out4"} {
			_, err := db.Client.Message.Create().SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionOUTBOUND).
				SetStatus(message.StatusQUEUED).SetBody("our answer").SetProviderMessageID(id).Save(ctx)
			require.NoError(t, err)
		}
		const totals = `{ messages { totalCount } conversations { totalCount } contacts { totalCount } groupWebhookEvents { totalCount } }`
		seen := map[string]bool{}
		for _, row := range webhookTable {
			require.False(t, seen[row.body], "%s: the bodies are distinct", row.name)
			seen[row.body] = true
			post(t, row.body)
			r := s.Do(t, owner, row.query, nil)
			r.RequireOK(t)
			require.JSONEq(t, row.want, string(r.Data), "%s: %s", row.name, r.Data)
			before := s.Do(t, owner, totals, nil)
			before.RequireOK(t)
			post(t, row.body)
			again := s.Do(t, owner, row.query, nil)
			again.RequireOK(t)
			require.JSONEq(t, string(r.Data), string(again.Data), "%s: posted twice", row.name)
			after := s.Do(t, owner, totals, nil)
			require.JSONEq(t, string(before.Data), string(after.Data), "%s: posted twice", row.name)
			require.NotContains(t, strings.ToLower(row.name), "todo")
		}
	})
}
