CREATE TABLE "conversations" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"metadata" json NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"deleted_at" bigint,
	"turn_response_id" text
);
--> statement-breakpoint
CREATE TABLE "items" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"tenant" text NOT NULL,
	"response_id" text,
	"conversation_id" text,
	"kind" text NOT NULL,
	"position" integer NOT NULL,
	"type" text NOT NULL,
	"body" json NOT NULL
);
--> statement-breakpoint
CREATE TABLE "response_events" (
	"response_id" text NOT NULL,
	"sequence_number" integer NOT NULL,
	"type" text NOT NULL,
	"data" json NOT NULL,
	CONSTRAINT "response_events_response_id_sequence_number_pk" PRIMARY KEY("response_id","sequence_number")
);
--> statement-breakpoint
CREATE TABLE "responses" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant" text NOT NULL,
	"status" text NOT NULL,
	"model" text NOT NULL,
	"previous_response_id" text,
	"conversation_id" text,
	"background" boolean DEFAULT false NOT NULL,
	"created_at" bigint NOT NULL,
	"updated_at" bigint NOT NULL,
	"completed_at" bigint,
	"lease_owner" text,
	"lease_expires_at" bigint,
	"request_id" text,
	"error" json,
	"request" json NOT NULL,
	"response" json NOT NULL
);
--> statement-breakpoint
ALTER TABLE "items" ADD CONSTRAINT "items_response_id_responses_id_fk" FOREIGN KEY ("response_id") REFERENCES "public"."responses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "items" ADD CONSTRAINT "items_conversation_id_conversations_id_fk" FOREIGN KEY ("conversation_id") REFERENCES "public"."conversations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "response_events" ADD CONSTRAINT "response_events_response_id_responses_id_fk" FOREIGN KEY ("response_id") REFERENCES "public"."responses"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "conversations_tenant_created_idx" ON "conversations" USING btree ("tenant","created_at");--> statement-breakpoint
CREATE INDEX "items_response_idx" ON "items" USING btree ("response_id","kind","position");--> statement-breakpoint
CREATE INDEX "items_conversation_idx" ON "items" USING btree ("conversation_id","position");--> statement-breakpoint
CREATE INDEX "responses_tenant_created_idx" ON "responses" USING btree ("tenant","created_at");--> statement-breakpoint
CREATE INDEX "responses_previous_idx" ON "responses" USING btree ("previous_response_id");--> statement-breakpoint
CREATE INDEX "responses_unfinished_idx" ON "responses" USING btree ("status") WHERE status in ('queued', 'in_progress');