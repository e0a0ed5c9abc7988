import Conveyor
import ConveyorCABI

// How producers and consumers wait (include/conveyor.h, minor 2): the
// settings RingProducer and RingConsumer have besides each call's timeout.

/// `conveyor_consumer_set_first_item_timeout`, as include/conveyor.h documents it.
@_cdecl("conveyor_consumer_set_first_item_timeout")
public func conveyorConsumerSetFirstItemTimeout(_ consumer: UInt64, _ seconds: Double, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try Handles.get(consumer, as: ConsumerHandle.self).consumer.firstItemTimeout = timeout(seconds: seconds)
    }
}

/// `conveyor_consumer_set_spin_time`, as include/conveyor.h documents it.
@_cdecl("conveyor_consumer_set_spin_time")
public func conveyorConsumerSetSpinTime(_ consumer: UInt64, _ seconds: Double, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try Handles.get(consumer, as: ConsumerHandle.self).consumer.spinTime = spinTime(seconds: seconds)
    }
}

/// `conveyor_producer_set_first_consumer_timeout`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_set_first_consumer_timeout")
public func conveyorProducerSetFirstConsumerTimeout(_ producer: UInt64, _ seconds: Double, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try Handles.get(producer, as: ProducerHandle.self).producer.firstConsumerTimeout = timeout(seconds: seconds)
    }
}

/// `conveyor_producer_set_spin_time`, as include/conveyor.h documents it.
@_cdecl("conveyor_producer_set_spin_time")
public func conveyorProducerSetSpinTime(_ producer: UInt64, _ seconds: Double, _ error: CError) -> Int32 {
    abiCall(error) { () throws(ConveyorError) in
        try Handles.get(producer, as: ProducerHandle.self).producer.spinTime = spinTime(seconds: seconds)
    }
}

/// A spin time in seconds: 0 (never spin) up to one second.
private func spinTime(seconds: Double) throws(ConveyorError) -> Duration {
    guard seconds >= 0, seconds <= 1 else {
        throw .invalidArgument("a spin time of \(seconds) s: pass 0 (never spin) up to 1 second")
    }
    return .nanoseconds(Int64(seconds * 1e9))
}
