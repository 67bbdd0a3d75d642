package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/hutong/hutong"
)

// runSubscriptions is `hutong subscriptions create|list|show|pause|resume|delete|listen`.
func runSubscriptions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("subscriptions create|list|show ID|pause ID|resume ID|delete ID|listen")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("subscriptions "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	var in hutong.SubscriptionInput
	var fields, webhook, natsURL, user, password, subject string
	var viaNATS bool
	switch sub {
	case "create":
		fs.StringVar(&in.Resource, "resource", "", "resource code")
		fs.StringVar(&in.Purpose, "purpose", "", "the purpose (用途) the agreement names")
		fs.StringVar(&fields, "fields", "", "comma-separated fields (default: every field of the agreement)")
		fs.StringVar(&webhook, "webhook", "", "deliver by signed POST to this URL")
		fs.BoolVar(&viaNATS, "nats", false, "deliver over NATS (the answer says where, and the user to read it as)")
	case "listen":
		fs.StringVar(&natsURL, "nats", "", "the NATS URL the subscription's answer gave")
		fs.StringVar(&user, "user", "", "the subscription's NATS user")
		fs.StringVar(&password, "password", "", "its password")
		fs.StringVar(&subject, "subject", "", "the subscription's subject (hutong.deliver.ID)")
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		return err
	}
	id := ""
	switch sub {
	case "show", "pause", "resume", "delete":
		if len(pos) != 1 {
			return fmt.Errorf("subscriptions %s ID", sub)
		}
		id = pos[0]
	default:
		if len(pos) != 0 {
			return fmt.Errorf("subscriptions %s: unexpected %s", sub, strings.Join(pos, " "))
		}
	}
	switch sub {
	case "create":
		if fields != "" {
			in.Fields = strings.Split(fields, ",")
		}
		if webhook != "" {
			in.Deliver.Webhook = webhook
		}
		if viaNATS {
			in.Deliver.NATS = &struct{}{}
		}
		a, err := cf.client().Subscribe(ctx, &in)
		if err != nil {
			return err
		}
		return printJSON(stdout, a)
	case "list":
		subs, err := cf.client().Subscriptions(ctx, hutong.SubscriptionFilter{})
		if err != nil {
			return err
		}
		for _, s := range subs {
			fmt.Fprintf(stdout, "%s  %-8s %-16s %s  %s → %s\n", s.ID, s.Status, s.Resource, s.Agreement, strings.Join(s.Fields, ","), s.Deliver.Kind())
		}
		return nil
	case "show":
		s, err := cf.client().Subscription(ctx, id)
		if err != nil {
			return err
		}
		return printJSON(stdout, s)
	case "pause", "resume", "delete":
		status := map[string]hutong.SubscriptionStatus{"pause": hutong.SubscriptionPaused, "resume": hutong.SubscriptionActive, "delete": hutong.SubscriptionEnded}[sub]
		s, err := cf.client().SetSubscriptionStatus(ctx, id, status)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s %s\n", s.ID, s.Status)
		return nil
	case "listen":
		// A consumer system's side, for the demo: print each batch as it
		// arrives on the subscription's subject.
		if natsURL == "" || subject == "" {
			return errors.New("subscriptions listen --nats URL --user U --password P --subject hutong.deliver.ID")
		}
		nc, err := nats.Connect(natsURL, nats.UserInfo(user, password), nats.Timeout(5*time.Second))
		if err != nil {
			return err
		}
		defer nc.Close()
		s, err := nc.Subscribe(subject, func(m *nats.Msg) {
			fmt.Fprintf(stdout, "%s receipt=%s %s\n", time.Now().Format(time.RFC3339), m.Header.Get("Hutong-Receipt"), m.Data)
		})
		if err != nil {
			return err
		}
		defer s.Unsubscribe()
		fmt.Fprintf(stderr, "listening on %s (Ctrl-C ends)\n", subject)
		<-ctx.Done()
		return nil
	}
	return fmt.Errorf("subscriptions: unknown command %q", sub)
}
