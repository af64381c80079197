CREATE TABLE `conversations` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`metadata` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `conversations_tenant_created_idx` ON `conversations` (`tenant`,`created_at`);--> statement-breakpoint
CREATE TABLE `items` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`tenant` text NOT NULL,
	`response_id` text,
	`conversation_id` text,
	`kind` text NOT NULL,
	`position` integer NOT NULL,
	`type` text NOT NULL,
	`body` text NOT NULL,
	FOREIGN KEY (`response_id`) REFERENCES `responses`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`conversation_id`) REFERENCES `conversations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `items_response_idx` ON `items` (`response_id`,`kind`,`position`);--> statement-breakpoint
CREATE INDEX `items_conversation_idx` ON `items` (`conversation_id`,`position`);--> statement-breakpoint
CREATE TABLE `response_events` (
	`response_id` text NOT NULL,
	`sequence_number` integer NOT NULL,
	`type` text NOT NULL,
	`data` text NOT NULL,
	PRIMARY KEY(`response_id`, `sequence_number`),
	FOREIGN KEY (`response_id`) REFERENCES `responses`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `responses` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant` text NOT NULL,
	`status` text NOT NULL,
	`model` text NOT NULL,
	`previous_response_id` text,
	`conversation_id` text,
	`background` integer DEFAULT false NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`completed_at` integer,
	`error` text,
	`request` text NOT NULL,
	`response` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `responses_tenant_created_idx` ON `responses` (`tenant`,`created_at`);--> statement-breakpoint
CREATE INDEX `responses_previous_idx` ON `responses` (`previous_response_id`);--> statement-breakpoint
CREATE INDEX `responses_unfinished_idx` ON `responses` (`status`) WHERE status in ('queued', 'in_progress');