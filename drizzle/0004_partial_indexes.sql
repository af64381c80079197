DROP INDEX `items_conversation_idx`;--> statement-breakpoint
CREATE INDEX `items_conversation_idx` ON `items` (`conversation_id`,`position`) WHERE conversation_id is not null;--> statement-breakpoint
DROP INDEX `responses_previous_idx`;--> statement-breakpoint
CREATE INDEX `responses_previous_idx` ON `responses` (`previous_response_id`) WHERE previous_response_id is not null;