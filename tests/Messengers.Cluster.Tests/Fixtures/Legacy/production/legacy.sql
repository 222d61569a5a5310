--
-- PostgreSQL database dump
--

\restrict cK8JsD3xicYO9R86hgSV6ReIyZhcJNTXjAbHGeQU5dE5GegEqrIJKNSix8CWZQ7

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: agent_dead_letters; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.agent_dead_letters (
    id bigint NOT NULL,
    instance_id text NOT NULL COLLATE pg_catalog."C",
    chat_id text NOT NULL COLLATE pg_catalog."C",
    message_id text NOT NULL COLLATE pg_catalog."C",
    message_ids jsonb NOT NULL,
    sender text,
    is_group boolean DEFAULT false NOT NULL,
    text text NOT NULL,
    backend text NOT NULL,
    agent_id text,
    reason text NOT NULL,
    status_code integer,
    error text NOT NULL,
    attempts integer NOT NULL,
    status text DEFAULT 'open'::text NOT NULL,
    failed_at timestamp with time zone NOT NULL,
    resolved_at timestamp with time zone,
    media jsonb DEFAULT '[]'::jsonb NOT NULL,
    CONSTRAINT agent_dead_letters_status_check CHECK ((status = ANY (ARRAY['open'::text, 'resolved'::text])))
);


--
-- Name: agent_dead_letters_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.agent_dead_letters ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.agent_dead_letters_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: grain_state; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.grain_state (
    grain_type text NOT NULL,
    grain_key text NOT NULL,
    state_name text NOT NULL,
    state_type text NOT NULL,
    payload jsonb NOT NULL,
    etag text NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: message_outbox; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.message_outbox (
    instance_id text NOT NULL COLLATE pg_catalog."C",
    message_id text NOT NULL COLLATE pg_catalog."C",
    id bigint NOT NULL
);


--
-- Name: messages; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.messages (
    id bigint NOT NULL,
    instance_id text NOT NULL COLLATE pg_catalog."C",
    message_id text NOT NULL COLLATE pg_catalog."C",
    chat_id text NOT NULL COLLATE pg_catalog."C",
    from_number text,
    to_number text,
    message_body text DEFAULT ''::text NOT NULL,
    message_type text DEFAULT 'text'::text NOT NULL,
    is_from_me boolean DEFAULT false NOT NULL,
    is_group boolean DEFAULT false NOT NULL,
    group_id text,
    contact_name text,
    agent_id text,
    session_id text,
    reply_to_message_id text,
    media jsonb,
    ack text DEFAULT 'none'::text NOT NULL,
    "timestamp" timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL,
    client_message_id text
);


--
-- Name: messages_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.messages ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at timestamp with time zone NOT NULL,
    checksum text NOT NULL
);


--
-- Name: webhook_deliveries; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_deliveries (
    id bigint NOT NULL,
    event_id text NOT NULL COLLATE pg_catalog."C",
    subscription_id text NOT NULL COLLATE pg_catalog."C",
    instance_id text NOT NULL COLLATE pg_catalog."C",
    event_type text NOT NULL,
    payload json NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_status_code integer,
    last_error text,
    created_at timestamp with time zone NOT NULL,
    delivered_at timestamp with time zone,
    CONSTRAINT webhook_deliveries_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'delivered'::text, 'failed'::text, 'dead'::text])))
);


--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.webhook_deliveries ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.webhook_deliveries_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: webhook_subscriptions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.webhook_subscriptions (
    id text NOT NULL COLLATE pg_catalog."C",
    instance_id text NOT NULL COLLATE pg_catalog."C",
    url text NOT NULL,
    events jsonb NOT NULL,
    secret text NOT NULL,
    headers text,
    enabled boolean DEFAULT true NOT NULL,
    format text DEFAULT 'envelope'::text NOT NULL,
    created_at timestamp with time zone NOT NULL,
    CONSTRAINT webhook_subscriptions_format_check CHECK ((format = ANY (ARRAY['envelope'::text, 'flat'::text])))
);


--
-- Data for Name: agent_dead_letters; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.agent_dead_letters (id, instance_id, chat_id, message_id, message_ids, sender, is_group, text, backend, agent_id, reason, status_code, error, attempts, status, failed_at, resolved_at, media) FROM stdin;
\.


--
-- Data for Name: grain_state; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.grain_state (grain_type, grain_key, state_name, state_type, payload, etag, updated_at) FROM stdin;
instance	24c9jmr3czvm	instance	Messengers.Grains.Instances.InstanceState	{"qr": null, "name": "Bot", "agent": {"model": null, "shape": null, "stream": false, "userId": null, "agentId": null, "backend": "echo", "baseUrl": null, "enabled": true, "denyChats": [], "allowChats": [], "answerGroups": false, "pauseKeyword": "#human", "systemPrompt": null, "answerPrivate": true, "resumeKeyword": "#bot", "timeoutSeconds": 60, "debounceSeconds": 0}, "status": "Created", "account": null, "webChat": null, "provider": "telegram", "settings": {}, "createdAt": "2026-12-07T09:14:59.321709+00:00", "updatedAt": "2026-12-07T09:14:59.321709+00:00", "messagesIn": 0, "messagesOut": 0, "apiKeyHashes": ["e6819e374e6ea2edb578b07c5cf61bea3ad24984c767ce0fe36facfca3c95d0a"], "desiredState": "Stopped", "statusReason": null, "statusChangedAt": "2026-12-07T09:14:59.321709+00:00", "protectedCredentials": {"botToken": "v1:+GxYxPCc96wTjykg5LDsbJdkxpkbB2a8wlZwYL/qmHW64kFWK91EYj1B8PWhEvLWKwtVNADvpFeziQJjEupsHrHLUzHB9058w5MYDvEr"}}	63eb75aabe62-5	2026-12-07 09:14:59.32214+00
instanceregistry	all	registry	Messengers.Grains.Instances.InstanceRegistryState	{"ids": ["24c9jmr3czvm", "x7x9vbawjnqw"]}	63eb75aabe62-6	2026-12-07 09:14:59.331514+00
chatsession	x7x9vbawjnqw/v2	chat	Messengers.Grains.Instances.ChatSessionState	{"agentPaused": true}	63eb75aabe62-7	2026-12-07 09:15:01.230174+00
instance	x7x9vbawjnqw	instance	Messengers.Grains.Instances.InstanceState	{"qr": null, "name": "Support", "agent": {"model": null, "shape": null, "stream": false, "userId": null, "agentId": null, "backend": "echo", "baseUrl": null, "enabled": true, "denyChats": [], "allowChats": [], "answerGroups": false, "pauseKeyword": "#human", "systemPrompt": null, "answerPrivate": true, "resumeKeyword": "#bot", "timeoutSeconds": 60, "debounceSeconds": 0}, "status": "Ready", "account": {"id": "x7x9vbawjnqw", "name": "Web chat"}, "webChat": {"enabled": true, "allowedOrigins": [], "messagesPerMinute": 30}, "provider": "webchat", "settings": {}, "createdAt": "2026-12-07T09:14:56.9301548+00:00", "updatedAt": "2026-12-07T09:14:56.9301548+00:00", "messagesIn": 2, "messagesOut": 2, "apiKeyHashes": ["ae40c215fb033f961ee265e773acca831300ceb8c39b3938e4c31cb127ed3871"], "desiredState": "Running", "statusReason": null, "statusChangedAt": "2026-12-07T09:14:57.0834166+00:00", "protectedCredentials": {"agentApiKey": "v1:Cph9FO3Bxu/4nD+kqVuE6gxt67YsOfowOIHKqIV/3L0dAW2HTgmYTHqKm90DU2g="}}	63eb75aabe62-8	2026-12-07 09:15:04.805267+00
\.


--
-- Data for Name: message_outbox; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.message_outbox (instance_id, message_id, id) FROM stdin;
\.


--
-- Data for Name: messages; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.messages (id, instance_id, message_id, chat_id, from_number, to_number, message_body, message_type, is_from_me, is_group, group_id, contact_name, agent_id, session_id, reply_to_message_id, media, ack, "timestamp", created_at, client_message_id) FROM stdin;
1	x7x9vbawjnqw	wci-01a24fc8f46c7d428cc71ae4fb29cf20	v1	v1	\N	hello there	text	f	f	\N	\N	\N	\N	\N	\N	none	2026-12-07 09:14:59.564107+00	2026-12-07 09:14:59.605244+00	\N
2	x7x9vbawjnqw	wco-reply-wci-01a24fc8f46c7d428cc71ae4fb29cf20	v1	\N	v1	Echo: hello there	text	t	f	\N	\N	echo	a1dd1ea3-4f8b-5eca-8c8d-8433a1e34018	\N	\N	sent	2026-12-07 09:15:00.103379+00	2026-12-07 09:15:00.103698+00	reply-wci-01a24fc8f46c7d428cc71ae4fb29cf20
3	x7x9vbawjnqw	wci-01a24fc8f800729c892db804e4270566	v1	v1	\N	second question	text	f	f	\N	\N	\N	\N	\N	\N	none	2026-12-07 09:15:00.480844+00	2026-12-07 09:15:00.480941+00	\N
4	x7x9vbawjnqw	wco-reply-wci-01a24fc8f800729c892db804e4270566	v1	\N	v1	Echo: second question	text	t	f	\N	\N	echo	a1dd1ea3-4f8b-5eca-8c8d-8433a1e34018	\N	\N	sent	2026-12-07 09:15:00.492055+00	2026-12-07 09:15:00.492076+00	reply-wci-01a24fc8f800729c892db804e4270566
\.


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schema_migrations (version, name, applied_at, checksum) FROM stdin;
1	grain_state	2026-12-07 09:14:54.048085+00	542a46f2778177b0ea3648670508f088e080a1c2745a70ced17009ddf3b36b02
2	messages	2026-12-07 09:14:54.104691+00	68084adcf6ee00712b8275b3a25eee572e923b6d90c717b3d85600e64650a830
3	webhooks	2026-12-07 09:14:54.161666+00	21fdc204d797183a45001a201284c7ee72a867a5cbdc1861e2db43bf554723f4
4	agent_dead_letters	2026-12-07 09:14:54.190717+00	2c177ac87575f63193b9fa88ad9f4de0f3c4a59d254a3b43bb8e55a85934ca0f
5	message_client_ids	2026-12-07 09:14:54.200229+00	c5e61a833c00c7d72ab19e6fcd04004aec433d79c1318ccd880d5faeb0e8b293
6	message_outbox	2026-12-07 09:14:54.28458+00	bd9d8ee0a91ac20b8aea32dd0ed06ad39133c6623335388043f9e113ff10219d
7	agent_dead_letter_media	2026-12-07 09:14:54.303686+00	d7ef3b83fd0118516740262c58f80d5bd0233f616475cdad17eccd29a941aebb
8	drop_instance_activity_index	2026-12-07 09:14:54.327498+00	8a77911da48c6e4d87ed077705a9c2facd675d14af86bfbaf75c801d4502a1da
\.


--
-- Data for Name: webhook_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhook_deliveries (id, event_id, subscription_id, instance_id, event_type, payload, status, attempts, next_attempt_at, last_status_code, last_error, created_at, delivered_at) FROM stdin;
\.


--
-- Data for Name: webhook_subscriptions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.webhook_subscriptions (id, instance_id, url, events, secret, headers, enabled, format, created_at) FROM stdin;
wh_a3a866d74a02454b9e3d	x7x9vbawjnqw	http://127.0.0.1:9/legacy-hook	["message.received"]	v1:5/qX6N7E6wtnSVpmXLJ7hCtsSOoOI/EvlwqBEpER5uqNXmVkijoEuzpnnyCw3k9tkZVKP7HXWTTIwT/oloUYYruVFFzW0OCc/9fqXVk=	\N	t	envelope	2026-12-07 09:15:01.36098+00
\.


--
-- Name: agent_dead_letters_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.agent_dead_letters_id_seq', 1, false);


--
-- Name: messages_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.messages_id_seq', 4, true);


--
-- Name: webhook_deliveries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.webhook_deliveries_id_seq', 1, false);


--
-- Name: agent_dead_letters agent_dead_letters_instance_id_message_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_dead_letters
    ADD CONSTRAINT agent_dead_letters_instance_id_message_id_key UNIQUE (instance_id, message_id);


--
-- Name: agent_dead_letters agent_dead_letters_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.agent_dead_letters
    ADD CONSTRAINT agent_dead_letters_pkey PRIMARY KEY (id);


--
-- Name: grain_state grain_state_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.grain_state
    ADD CONSTRAINT grain_state_pkey PRIMARY KEY (grain_type, grain_key, state_name);


--
-- Name: message_outbox message_outbox_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.message_outbox
    ADD CONSTRAINT message_outbox_pkey PRIMARY KEY (instance_id, message_id);


--
-- Name: messages messages_instance_id_message_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_instance_id_message_id_key UNIQUE (instance_id, message_id);


--
-- Name: messages messages_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: webhook_deliveries webhook_deliveries_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id);


--
-- Name: webhook_deliveries webhook_deliveries_subscription_id_event_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_subscription_id_event_id_key UNIQUE (subscription_id, event_id);


--
-- Name: webhook_subscriptions webhook_subscriptions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_subscriptions
    ADD CONSTRAINT webhook_subscriptions_pkey PRIMARY KEY (id);


--
-- Name: ix_agent_dead_letters_instance; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_agent_dead_letters_instance ON public.agent_dead_letters USING btree (instance_id, id DESC);


--
-- Name: ix_messages_chat_history; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_messages_chat_history ON public.messages USING btree (instance_id, chat_id, "timestamp" DESC, message_id DESC);


--
-- Name: ix_webhook_deliveries_due; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_deliveries_due ON public.webhook_deliveries USING btree (next_attempt_at) WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text]));


--
-- Name: ix_webhook_deliveries_finished; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_deliveries_finished ON public.webhook_deliveries USING btree (created_at) WHERE (status = ANY (ARRAY['delivered'::text, 'dead'::text]));


--
-- Name: ix_webhook_deliveries_log; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_deliveries_log ON public.webhook_deliveries USING btree (subscription_id, id DESC);


--
-- Name: ix_webhook_deliveries_queue; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_deliveries_queue ON public.webhook_deliveries USING btree (subscription_id, id) WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text]));


--
-- Name: ix_webhook_subscriptions_instance; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX ix_webhook_subscriptions_instance ON public.webhook_subscriptions USING btree (instance_id, created_at);


--
-- Name: webhook_deliveries webhook_deliveries_subscription_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.webhook_deliveries
    ADD CONSTRAINT webhook_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES public.webhook_subscriptions(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict cK8JsD3xicYO9R86hgSV6ReIyZhcJNTXjAbHGeQU5dE5GegEqrIJKNSix8CWZQ7

