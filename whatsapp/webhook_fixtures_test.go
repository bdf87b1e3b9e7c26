package whatsapp

import "time"

// fixtureDir holds Meta's sample webhook bodies (MIT, see its LICENSE and
// README).
const fixtureDir = "testdata/fixtures"

// Values most samples share.
const (
	sampleWABA        = "1234567890987654321"
	sampleButtonWABA  = "5467539754836534"
	sampleHealthWABA  = "102290129340398"
	samplePartnerWABA = "2949482758682047"
	businessID        = "1122334455667"
	businessPhone     = "972123456789"
	customer          = "972987654321"
	customerBSUID     = "US.13491208655302741918"
	customerParent    = "US.ENT.11815799212886844830"
	customerName      = "Test Name"
	placeholderWABA   = "<WHATSAPP_BUSINESS_ACCOUNT_ID>"
	placeholderID     = "<BUSINESS_PHONE_NUMBER_ID>"
	placeholderPhone  = "<BUSINESS_DISPLAY_PHONE_NUMBER>"
)

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// fromCustomer sets the sender the samples' contacts[] describe.
func fromCustomer(m Message) Message {
	m.From, m.UserID, m.ParentUserID, m.ProfileName = customer, customerBSUID, customerParent, customerName
	return m
}

func messages(waba string, msgs ...Message) *Notification {
	return &Notification{Changes: []Change{{
		Field: FieldMessages, WABAID: waba, PhoneNumberID: businessID, DisplayPhone: businessPhone, Messages: msgs,
	}}}
}

func echoes(waba string, msgs ...Message) *Notification {
	return &Notification{Changes: []Change{{
		Field: FieldMessageEchoes, WABAID: waba, PhoneNumberID: businessID, DisplayPhone: businessPhone, Echoes: msgs,
	}}}
}

func statuses(s Status) *Notification {
	return &Notification{Changes: []Change{{
		Field: FieldMessages, WABAID: sampleButtonWABA, PhoneNumberID: businessID, DisplayPhone: businessPhone, Statuses: []Status{s},
	}}}
}

func account(waba string, at int64, u AccountUpdate) *Notification {
	return &Notification{Changes: []Change{{Field: FieldAccountUpdate, WABAID: waba, Time: unix(at), Account: &u}}}
}

func templateUpdate(u TemplateUpdate) *Notification {
	return &Notification{Changes: []Change{{Field: FieldTemplateStatus, WABAID: sampleHealthWABA, Time: unix(1751247548), Template: &u}}}
}

var (
	forwarded      = &Context{Forwarded: true}
	conversation   = &Conversation{ID: "7270432eae37498234f4444b35ffc5", Origin: "service"}
	servicePricing = &Pricing{Billable: true, Model: "CBP", Category: "service"}
	unknownType    = []Error{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", Details: "Message type is currently not supported."}}
)

// fixtureWants is what Parse must return for every case of every sample file,
// keyed "file/case", with the Raw fields cleared. A sample without an entry, or
// an entry without a sample, fails TestParseFixtures.
var fixtureWants = map[string]*Notification{
	// Inbound messages.
	"message.json/text": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "text", Timestamp: unix(1697043223), Text: "Body Text",
	})),
	"message.json/image": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "image", Timestamp: unix(1697043379),
		Media: &Media{ID: "65463453", MimeType: "image/jpeg", SHA256: "4654+8g="},
	})),
	"message.json/media_with_url": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "image", Timestamp: unix(1697043379),
		Media: &Media{
			ID: "65463453", MimeType: "image/jpeg", SHA256: "4654+8g=",
			URL: "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=65463453&source=webhook&ext=487r9re&hash=heiwchueowbcew-dnedcw",
		},
	})),
	"message.json/video": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "video", Timestamp: unix(1697044362), Context: forwarded,
		Media: &Media{ID: "765756756", MimeType: "video/mp4", SHA256: "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s03w9Jc=", Caption: "caption"},
	})),
	"message.json/document": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "document", Timestamp: unix(1697043666), Context: forwarded,
		Media: &Media{
			ID: "1234567890987654321", MimeType: "application/pdf", SHA256: "grwfwe/ZPx0wAbdfbdeFUNItPZ0RylL8gGUvdt3YFqc18SY=",
			Caption: "caption", Filename: "filename.pdf",
		},
	})),
	"message.json/audio": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "audio", Timestamp: unix(1697043509), Context: forwarded,
		Media: &Media{ID: "1234567890987654321", MimeType: "audio/ogg; codecs=opus", SHA256: "E3dxS/PdYZE7ppA3pQ4mpCFaXBJ8pX4SRN/dsfvds/iPGA="},
	})),
	"message.json/voice": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "audio", Timestamp: unix(1697043473),
		Media: &Media{ID: "1234567890987654321", MimeType: "audio/ogg; codecs=opus", SHA256: "m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=", Voice: true},
	})),
	"message.json/static_sticker": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "sticker", Timestamp: unix(1697043760),
		Media: &Media{ID: "1234567890987654321", MimeType: "image/webp", SHA256: "OmT4nhjUhCMIPNmj7eeOZeCYjTXkLxoOv85OMCFwSuc="},
	})),
	"message.json/animated_sticker": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "sticker", Timestamp: unix(1697043785),
		Media: &Media{ID: "1234567890987654321", MimeType: "image/webp", SHA256: "HcwyCKrTKXHk0a00ms4HWIA76GY0Du6q4Z/iuwevw=", Animated: true},
	})),
	"message.json/reaction": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "reaction", Timestamp: unix(1697044456),
		Reaction: &Reaction{MessageID: "wamid.yzxyzx=", Emoji: "😮"},
	})),
	"message.json/unreaction_empty": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "reaction", Timestamp: unix(1697044456),
		Reaction: &Reaction{MessageID: "wamid.yzxyzx="},
	})),
	"message.json/unreaction_no_emoji": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "reaction", Timestamp: unix(1697044456),
		Reaction: &Reaction{MessageID: "wamid.yzxyzx="},
	})),
	"message.json/current_location": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "location", Timestamp: unix(1697044557), Context: forwarded,
		Location: &Location{Latitude: 12.25089, Longitude: 43.90539},
	})),
	"message.json/chosen_location": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "location", Timestamp: unix(1697044557), Context: forwarded,
		Location: &Location{
			Latitude: 37.4611978, Longitude: -122.2164385, Name: "Facebook HQ",
			Address: "1 Hacker Way, Menlo Park, CA 94025", URL: "https://maps.google.com/?cid=2000000000000000000",
		},
	})),
	"message.json/contacts": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "contacts", Timestamp: unix(1697044621),
		Contacts: []SharedContact{
			{
				Name:   ContactName{Formatted: "Chandler Bing", First: "Chandler", Last: "Bing"},
				Phones: []ContactPhone{{Phone: "+1 555-555-5555", WAID: customer, Type: "CELL"}},
			},
			{
				Name:   ContactName{Formatted: "Monica", First: "Monica"},
				Phones: []ContactPhone{{Phone: "+1 666-666-6666", WAID: customer, Type: "HOME"}},
			},
			{
				Name:   ContactName{Formatted: "Rachel Green", First: "Rachel", Last: "Green"},
				Phones: []ContactPhone{{Phone: "+1 777-777-7777", WAID: customer, Type: "WORK"}},
			},
		},
	})),
	"message.json/order": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "order", Timestamp: unix(1697044668),
		Order: &Order{CatalogID: "354160437058781", Items: []OrderItem{
			{ProductRetailerID: "HAMBURGER", Quantity: 3, ItemPrice: 30, Currency: "ILS"},
			{ProductRetailerID: "FRENCH_FRIES", Quantity: 2, ItemPrice: 35, Currency: "ILS"},
			{ProductRetailerID: "SODA", Quantity: 2, ItemPrice: 10, Currency: "ILS"},
		}},
	})),
	"message.json/unsupported": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "unsupported", Timestamp: unix(1697044706), Errors: unknownType,
	})),
	"message.json/unsupported_with_type": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "unsupported", Timestamp: unix(1697044706), Errors: unknownType,
	})),
	"message.json/reply": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "text", Timestamp: unix(1697044746), Text: "replied text",
		Context: &Context{From: businessPhone, MessageID: "wamid.xyzxyz=="},
	})),
	"message.json/forwarded": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "text", Timestamp: unix(1697044815), Text: "forwarded text", Context: forwarded,
	})),
	"message.json/forwarded_many_times": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "text", Timestamp: unix(1697044968), Text: "text forwarded many times",
		Context: &Context{FrequentlyForwarded: true},
	})),
	// The error sits on the change, not the message, and the message has no
	// interactive object.
	"message.json/interactive_message_with_err": {Changes: []Change{{
		Field: FieldMessages, WABAID: sampleWABA, PhoneNumberID: businessID, DisplayPhone: businessPhone,
		Messages: []Message{fromCustomer(Message{
			ID: "wamid.wegrchytvwcggt=", Type: "interactive", Timestamp: unix(1700505494),
			Context: &Context{From: businessPhone, MessageID: "wamid.gvwegfretge=="},
		})},
		Errors: []Error{{Code: 131000, Title: "Something went wrong", Message: "Something went wrong", Details: "Unsupported webhook payload"}},
	}}},
	"message.json/referral": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.ID", Type: "text", Timestamp: unix(1697045000), Text: "BODY",
		Referral: &Referral{
			SourceURL: "AD_OR_POST_FB_URL", SourceID: "ADID", SourceType: "ad or post", Headline: "AD_TITLE",
			Body: "AD_DESCRIPTION", MediaType: "image or video", ImageURL: "RAW_IMAGE_URL", VideoURL: "RAW_VIDEO_URL",
			ThumbnailURL: "RAW_THUMBNAIL_URL", CTWAClickID: "CTWA_CLID",
		},
	})),

	// Replies to buttons and lists.
	"callback_button.json/button": messages(sampleButtonWABA, fromCustomer(Message{
		ID: "wamid.xyzxyz", Type: "interactive", Timestamp: unix(1698266730),
		Context:     &Context{From: businessID, MessageID: "wamid.xyzxyz"},
		Interactive: &InteractiveReply{Type: "button_reply", ID: "callback_data", Title: "title"},
	})),
	"callback_button.json/quick_reply": messages(sampleButtonWABA, fromCustomer(Message{
		ID: "wamid.xsidjw", Type: "button", Timestamp: unix(1698269027),
		Context: &Context{From: businessPhone, MessageID: "wamid.xyzxyz=="},
		Button:  &Button{Payload: "callback_data", Text: "title"},
	})),
	"callback_button.json/quick_reply_without_context": messages(sampleButtonWABA, fromCustomer(Message{
		ID: "wamid.xsidjx", Type: "button", Timestamp: unix(1698269027),
		Button: &Button{Payload: "callback_data", Text: "title"},
	})),
	"callback_selection.json/callback": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.zyzxyz", Type: "interactive", Timestamp: unix(1698266905),
		Context:     &Context{From: businessID, MessageID: "wamid.xyzxyz"},
		Interactive: &InteractiveReply{Type: "list_reply", ID: "callback_data", Title: "title"},
	})),
	"callback_selection.json/description": messages(sampleWABA, fromCustomer(Message{
		ID: "wamid.zyzxyz", Type: "interactive", Timestamp: unix(1698266905),
		Context:     &Context{From: businessID, MessageID: "wamid.xyzxyz"},
		Interactive: &InteractiveReply{Type: "list_reply", ID: "callback_data", Title: "title", Description: "description"},
	})),

	// System notices. The number change comes without contacts[].
	"system.json/phone_number_change": messages(sampleWABA, Message{
		ID: "wamid.xyzxyz==", Type: "system", Timestamp: unix(1753851315), From: customer,
		System: &System{Type: "user_changed_number", Body: "User A changed from 972987654321 to 972912345678", NewWAID: "972912345678"},
	}),
	"system.json/identity_change": messages(sampleWABA, Message{
		ID: "wamid.xyzxyz", Type: "system", Timestamp: unix(1697044706), From: customer, ProfileName: "User A",
		System:   &System{Type: "customer_identity_changed", Body: "User identity changed"},
		Identity: &Identity{Acknowledged: true, Hash: "xyzxyz", CreatedAt: unix(1697044706)},
	}),

	// Revokes and edits. In both samples the sender is not the contact given,
	// so no profile name is attached.
	"deleted_message.json/revoke": {Changes: []Change{{
		Field: FieldMessages, WABAID: placeholderWABA, PhoneNumberID: placeholderID, DisplayPhone: placeholderPhone,
		Messages: []Message{{
			ID: "<WHATSAPP_MESSAGE_ID>", Type: "revoke", Timestamp: unix(1697043223), From: "<WHATSAPP_USER_PHONE_NUMBER>",
			OriginalID: "<ORIGINAL_WHATSAPP_MESSAGE_ID>",
		}},
	}}},
	"edited_message.json/image": {Changes: []Change{{
		Field: FieldMessages, WABAID: sampleHealthWABA, PhoneNumberID: "106540352242922", DisplayPhone: "15550783881",
		Messages: []Message{{
			ID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", Type: "edit",
			Timestamp: unix(1749854575), From: "16505551234",
			OriginalID: "wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=",
			Edited: &Message{
				Type: "image", Context: &Context{MessageID: "M0"},
				Media: &Media{
					ID: "1234567890", MimeType: "image/jpeg", SHA256: "a1b2c3d4e5f6...",
					Caption: "Updated image caption", URL: "https://media.example.com/updated-image.jpg",
				},
			},
		}},
	}}},

	// Echoes of what the business sent from the WhatsApp Business app. The
	// text echo names its customer by a BSUID the contacts[] do not carry;
	// the revoke and edit echoes have from and to the other way round.
	"outgoing_message.json/text": echoes(placeholderWABA, Message{
		ID: "<WHATSAPP_MESSAGE_ID>", Type: "text", Timestamp: unix(1697043223), Text: "Test message",
		From: placeholderPhone, To: "<WHATSAPP_USER_PHONE_NUMBER>", UserID: "<BSUID>",
	}),
	"outgoing_message.json/delete": echoes(sampleWABA, Message{
		ID: "wamid.yyyyyy", Type: "revoke", Timestamp: unix(1697044968), From: customer, To: businessPhone,
		OriginalID: "wamid.zzzzzz",
	}),
	"outgoing_message.json/edit": echoes(sampleWABA, Message{
		ID: "wamid.yyyyyy", Type: "edit", Timestamp: unix(1697044968), From: customer, To: businessPhone,
		OriginalID: "wamid.zzzzzz",
		Edited:     &Message{Type: "text", Text: "Text was edited"},
	}),

	// Statuses.
	"message_status.json/sent": statuses(Status{
		MessageID: "wamid.xyzxyz", Status: StatusSent, Timestamp: unix(1698266945), RecipientID: customer,
		Conversation: &Conversation{ID: conversation.ID, Origin: "service", ExpiresAt: unix(1698339900)},
		Pricing:      servicePricing,
	}),
	"message_status.json/delivered": statuses(Status{
		MessageID: "wamid.xyzxyz", Status: StatusDelivered, Timestamp: unix(1698266945), RecipientID: customer,
		Conversation: conversation, Pricing: servicePricing,
	}),
	"message_status.json/read": statuses(Status{
		MessageID: "wamid.xyzxyz", Status: StatusRead, Timestamp: unix(1689380458), RecipientID: customer,
		Conversation: conversation, Pricing: servicePricing,
	}),
	"message_status.json/played": statuses(Status{
		MessageID: "wamid.xyzxyz", Status: StatusPlayed, Timestamp: unix(1689380458), RecipientID: customer,
		Conversation: conversation, Pricing: servicePricing,
	}),
	"message_status.json/failed": statuses(Status{
		MessageID: "wamid.xyzxyz", Status: StatusFailed, Timestamp: unix(1689380458), RecipientID: customer,
		Errors: []Error{{
			Code: 130472, Title: "User's number is part of an experiment", Message: "User's number is part of an experiment",
			Details: "Failed to send message because this user's phone number is part of an experiment",
		}},
	}),
	"message_status.json/with_tracker": statuses(Status{
		MessageID: "wamid.xyzxyz", Status: StatusSent, Timestamp: unix(1698266945), RecipientID: customer,
		BizOpaqueCallbackData: "some data",
		Conversation:          &Conversation{ID: conversation.ID, Origin: "service", ExpiresAt: unix(1698339900)},
		Pricing:               servicePricing,
	}),
	"message_status.json/group": {Changes: []Change{{
		Field: FieldMessages, WABAID: placeholderWABA, PhoneNumberID: placeholderID, DisplayPhone: placeholderPhone,
		Statuses: []Status{{
			MessageID: "<WHATSAPP_MESSAGE_ID>", Status: StatusRead, Timestamp: unix(1698266945),
			RecipientID: "fowefinoewcnw", RecipientType: "group", RecipientParticipantID: "<GROUP_PARTICIPANT_USER_PHONE_NUMBER>",
		}},
	}}},

	// Account updates.
	"account_update.json/account_deleted": account(sampleHealthWABA, 1743451903, AccountUpdate{Event: "ACCOUNT_DELETED"}),
	"account_update.json/account_restriction": account(sampleHealthWABA, 1641330498, AccountUpdate{
		Event: "ACCOUNT_RESTRICTION",
		Restrictions: []Restriction{
			{Type: "RESTRICTED_BIZ_INITIATED_MESSAGING", Expires: unix(1641330498)},
			{Type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION", Expires: unix(1641330498)},
		},
	}),
	"account_update.json/account_violation": account(sampleHealthWABA, 1743451903, AccountUpdate{
		Event: "ACCOUNT_VIOLATION", ViolationType: "ADULT",
	}),
	"account_update.json/ad_account_linked": account(samplePartnerWABA, 1744823932, AccountUpdate{Event: "AD_ACCOUNT_LINKED"}),
	"account_update.json/authentication_international_eligibility": account(sampleHealthWABA, 1743451903, AccountUpdate{
		Event: "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
	}),
	"account_update.json/account_disabled": account(sampleHealthWABA, 1743451903, AccountUpdate{
		Event: "DISABLED_UPDATE", BanState: "REINSTATE", BanDate: "April 17, 2025",
	}),
	"account_update.json/mm_api_for_wa_terms_of_service": account(samplePartnerWABA, 1744823932, AccountUpdate{Event: "MM_LITE_TERMS_SIGNED"}),
	"account_update.json/partner_added":                  account(samplePartnerWABA, 1744823932, AccountUpdate{Event: "PARTNER_ADDED"}),
	"account_update.json/partner_app_installed":          account(samplePartnerWABA, 1745337174, AccountUpdate{Event: "PARTNER_APP_INSTALLED"}),
	"account_update.json/partner_app_uninstalled":        account(samplePartnerWABA, 1748477359, AccountUpdate{Event: "PARTNER_APP_UNINSTALLED"}),
	"account_update.json/partner_led_business_verification_status": account(sampleHealthWABA, 1743138982, AccountUpdate{
		Event: "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE",
	}),
	"account_update.json/partner_removed": account(samplePartnerWABA, 1748477359, AccountUpdate{Event: "PARTNER_REMOVED"}),
	"account_update.json/partner_removed_wa_app_disconnection": account(samplePartnerWABA, 1748477359, AccountUpdate{
		Event: "PARTNER_REMOVED", DisconnectionReason: "PRIMARY_INACTIVITY",
	}),
	"account_update.json/primary_business_location_set": account(sampleHealthWABA, 1743138982, AccountUpdate{
		Event: "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE",
	}),
	"account_update.json/pricing_tiering_update": account(sampleHealthWABA, 1743451903, AccountUpdate{
		Event: "VOLUME_BASED_PRICING_TIER_UPDATE",
	}),
	"account_update.json/account_offboarded":  account(sampleHealthWABA, 1743451903, AccountUpdate{Event: "ACCOUNT_OFFBOARDED"}),
	"account_update.json/account_reconnected": account(sampleHealthWABA, 1743451903, AccountUpdate{Event: "ACCOUNT_RECONNECTED"}),

	// Template reviews.
	"template_status_update.json/approved": templateUpdate(TemplateUpdate{
		Event: "APPROVED", ID: "1689556908129832", Name: "order_confirmation", Language: "en_US",
		Category: "UTILITY", Reason: "NONE",
	}),
	"template_status_update.json/rejected": templateUpdate(TemplateUpdate{
		Event: "REJECTED", ID: "1689556908129835", Name: "abandoned_cart", Language: "en",
		Category: "MARKETING", Reason: "INVALID_FORMAT",
		Detail: "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
	}),
}
