ALTER TABLE `conversations` ADD `turn_response_id` text;--> statement-breakpoint
ALTER TABLE `responses` ADD `lease_owner` text;--> statement-breakpoint
ALTER TABLE `responses` ADD `lease_expires_at` integer;